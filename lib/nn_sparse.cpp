// Pruned models at inference and on disk (include/vkgrad/nn/sparse.hpp): Linear::compress_weight,
// compress_weights / drop_compressed_weights over a model, the CSR safetensors export and import,
// and the weight-sparsity report.
#include "vkgrad/nn/sparse.hpp"

#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "nn_state.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

namespace {

// The dense weights load_sparse_state_dict builds at most: a larger dense shape in the metadata
// is refused before anything is allocated (2^32 f32 values, 16 GiB, beyond any Linear vkgrad
// holds in one device buffer).
constexpr uint64_t kMaxDenseElements = uint64_t(1) << 32;
constexpr std::string_view kSparsePrefix = "sparse_csr.";
constexpr const char* kCrow = ".crow_indices";
constexpr const char* kCol = ".col_indices";
constexpr const char* kValues = ".values";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A HostTensor of integers of `dtype` ("I16", "I32" or "I64") holding `values`, which fit.
HostTensor integer_tensor(const std::string& dtype, const std::vector<int64_t>& values) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = {values.size()};
  const std::size_t size = safetensors_dtype_size(dtype);
  t.bytes.resize(values.size() * size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int64_t v = values[i];
    if (size == 2) {
      const auto narrow = static_cast<int16_t>(v);
      std::memcpy(&t.bytes[i * 2], &narrow, 2);
    } else if (size == 4) {
      const auto narrow = static_cast<int32_t>(v);
      std::memcpy(&t.bytes[i * 4], &narrow, 4);
    } else {
      std::memcpy(&t.bytes[i * 8], &v, 8);
    }
  }
  return t;
}

// The values of an integer tensor (I16, I32 or I64, 1-D); the caller checked the dtype and shape.
std::vector<int64_t> integers_of(const HostTensor& t) {
  const std::size_t size = safetensors_dtype_size(t.dtype);
  std::vector<int64_t> v(t.bytes.size() / size);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (size == 2) {
      int16_t x;
      std::memcpy(&x, &t.bytes[i * 2], 2);
      v[i] = x;
    } else if (size == 4) {
      int32_t x;
      std::memcpy(&x, &t.bytes[i * 4], 4);
      v[i] = x;
    } else {
      std::memcpy(&v[i], &t.bytes[i * 8], 8);
    }
  }
  return v;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The dense weight (rows × cols, row-major) of one CSR triple, validated as load_sparse_state_dict
// documents; `fail` throws naming the weight.
template <class Fail>
std::vector<float> dense_of_csr(uint64_t rows, uint64_t cols, const HostTensor& crow, const HostTensor& col,
                                const HostTensor& values, const Fail& fail) {
  if (crow.dtype != "I32" && crow.dtype != "I64") fail("crow_indices is " + crow.dtype + ", not I32 or I64");
  if (col.dtype != "I16" && col.dtype != "I32" && col.dtype != "I64")
    fail("col_indices is " + col.dtype + ", not I16, I32 or I64");
  if (values.dtype != "F32") fail("values is " + values.dtype + ", not F32");
  if (crow.shape.size() != 1 || crow.shape[0] != rows + 1)
    fail("crow_indices is " + shape_string(crow.shape) + ", expected [" + std::to_string(rows + 1) + "] (rows + 1)");
  if (values.shape.size() != 1) fail("values is " + shape_string(values.shape) + ", not 1-D");
  const uint64_t nnz = values.shape[0];
  if (col.shape != values.shape)
    fail("col_indices is " + shape_string(col.shape) + " but values " + shape_string(values.shape));
  if (nnz > rows * cols) fail(std::to_string(nnz) + " entries in a " + std::to_string(rows * cols) + "-element matrix");
  const std::vector<int64_t> offsets = integers_of(crow), columns = integers_of(col);
  const std::vector<float> v = values.to_floats();
  if (offsets[0] != 0) fail("crow_indices starts at " + std::to_string(offsets[0]) + ", not 0");
  for (uint64_t r = 0; r < rows; ++r) {
    if (offsets[r + 1] < offsets[r] || offsets[r + 1] > static_cast<int64_t>(nnz)) {
      fail("crow_indices[" + std::to_string(r + 1) + "] = " + std::to_string(offsets[r + 1]) + " after " +
           std::to_string(offsets[r]) + " (offsets must not decrease and stay within the " + std::to_string(nnz) +
           " entries)");
    }
  }
  if (offsets[rows] != static_cast<int64_t>(nnz))
    fail("crow_indices ends at " + std::to_string(offsets[rows]) + ", not at the " + std::to_string(nnz) + " entries");
  std::vector<float> dense(rows * cols, 0.0f);
  for (uint64_t r = 0; r < rows; ++r) {
    for (int64_t k = offsets[r]; k < offsets[r + 1]; ++k) {
      const int64_t c = columns[k];
      if (c < 0 || c >= static_cast<int64_t>(cols)) {
        fail("col_indices[" + std::to_string(k) + "] = " + std::to_string(c) + " (row " + std::to_string(r) +
             ") is outside [0, " + std::to_string(cols) + ")");
      }
      if (k > offsets[r] && c <= columns[k - 1]) {
        fail("col_indices of row " + std::to_string(r) + " are not strictly ascending (" +
             std::to_string(columns[k - 1]) + " then " + std::to_string(c) + ")");
      }
      dense[r * cols + static_cast<uint64_t>(c)] = v[k];
    }
  }
  return dense;
}

// "[rows, cols]" of the metadata, two integers >= 1 whose product is at most kMaxDenseElements.
template <class Fail>
std::pair<uint64_t, uint64_t> dense_shape_of(const std::string& text, const Fail& fail) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.size() != 2 || !json[0].is_number_unsigned() ||
      !json[1].is_number_unsigned()) {
    fail("the dense shape '" + text + "' is not [out_features, in_features]");
  }
  const uint64_t rows = json[0].get<uint64_t>(), cols = json[1].get<uint64_t>();
  if (rows == 0 || cols == 0 || rows > kMaxDenseElements / cols) {
    fail("the dense shape '" + text + "' is empty or holds more than 2^32 elements");
  }
  return {rows, cols};
}

}  // namespace

// --- compressed weights ---

void Linear::compress_weight(SparseFormat format) {
  compressed_ = SparseMatrix::from_dense(context(), weight_, format);
}

std::size_t compress_weights(Module& model, SparseFormat format) {
  auto linears = state::linear_layers(model);
  for (auto& [name, linear] : linears) linear->compress_weight(format);
  return linears.size();
}

std::size_t drop_compressed_weights(Module& model) {
  std::size_t dropped = 0;
  for (auto& [name, linear] : state::linear_layers(model)) {
    if (linear->compressed() == nullptr) continue;
    linear->drop_compressed_weight();
    ++dropped;
  }
  return dropped;
}

// --- CSR files ---

void save_sparse(Sequential& model, const std::filesystem::path& path, const SparseSaveOptions& options) {
  const std::string_view where = "save_sparse";
  if (!(options.max_density >= 0.0 && options.max_density <= 1.0)) {
    state::fail(where, "max_density is " + std::to_string(options.max_density) + "; it must be in [0, 1]");
  }
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  for (const auto& [key, value] : options.metadata) {
    if (key == "format" || starts_with(key, kSparsePrefix)) {
      state::fail(where, "metadata key '" + key + "' is reserved for the file's layout; choose a key that is not " +
                             "\"format\" and does not start with \"sparse_csr.\"");
    }
    metadata[key] = value;
  }
  std::map<std::string, Linear*> weights;
  for (auto& [name, linear] : state::linear_layers(model)) weights[name] = linear;
  std::vector<std::pair<std::string, HostTensor>> out;
  for (auto& [name, tensor] : model.state_dict()) {
    const auto linear = weights.find(name);
    if (linear == weights.end()) {
      out.emplace_back(name, std::move(tensor));
      continue;
    }
    const uint64_t rows = tensor.shape[0], cols = tensor.shape[1];
    const std::vector<float> w = tensor.to_floats();
    std::vector<int64_t> offsets{0}, columns;
    std::vector<float> values;
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t c = 0; c < cols; ++c) {
        const float x = w[r * cols + c];
        if (x == 0.0f) continue;  // +0 and −0: as SparseMatrix decides what is stored
        columns.push_back(static_cast<int64_t>(c));
        values.push_back(x);
      }
      offsets.push_back(static_cast<int64_t>(values.size()));
    }
    const uint64_t nnz = values.size();
    const std::string crow_dtype = nnz <= uint64_t(std::numeric_limits<int32_t>::max()) ? "I32" : "I64";
    const std::string col_dtype = cols <= uint64_t(std::numeric_limits<int16_t>::max()) + 1 ? "I16" : "I32";
    const uint64_t csr_bytes =
        (rows + 1) * safetensors_dtype_size(crow_dtype) + nnz * (safetensors_dtype_size(col_dtype) + sizeof(float));
    const double density = static_cast<double>(nnz) / static_cast<double>(rows * cols);
    if (density > options.max_density || csr_bytes >= tensor.bytes.size()) {
      out.emplace_back(name, std::move(tensor));
      continue;
    }
    out.emplace_back(name + kCrow, integer_tensor(crow_dtype, offsets));
    out.emplace_back(name + kCol, integer_tensor(col_dtype, columns));
    out.emplace_back(name + kValues, HostTensor::from_floats({nnz}, values));
    metadata[std::string(kSparsePrefix) + name] = shape_string(tensor.shape);
  }
  save_safetensors(path, out, metadata);
}

std::vector<std::pair<std::string, HostTensor>> load_sparse_state_dict(const std::filesystem::path& path) {
  const std::string where = "load_sparse_state_dict(" + path.string() + ")";
  SafetensorsFile file = load_safetensors(path);
  // The dense weight of each triple, by the name of its crow_indices; the names of its parts.
  struct Dense {
    std::string name;
    uint64_t rows, cols;
    std::vector<float> values;
  };
  std::map<std::string, Dense> dense_at;
  std::set<std::string> parts;
  for (const auto& [key, text] : file.metadata) {
    if (!starts_with(key, kSparsePrefix)) continue;
    const std::string name = key.substr(kSparsePrefix.size());
    auto fail = [&](const std::string& what) { state::fail(where, "sparse weight '" + name + "': " + what); };
    const auto [rows, cols] = dense_shape_of(text, fail);
    if (file.find(name) != nullptr) fail("the file holds both the dense tensor and its CSR form");
    const HostTensor* crow = file.find(name + kCrow);
    const HostTensor* col = file.find(name + kCol);
    const HostTensor* values = file.find(name + kValues);
    if (!crow || !col || !values) {
      fail(std::string("missing '") + name + (!crow ? kCrow : !col ? kCol : kValues) + "'");
    }
    dense_at[name + kCrow] = Dense{name, rows, cols, dense_of_csr(rows, cols, *crow, *col, *values, fail)};
    parts.insert({name + kCrow, name + kCol, name + kValues});
  }
  std::vector<std::pair<std::string, HostTensor>> state;
  for (auto& [name, tensor] : file.tensors) {
    if (auto it = dense_at.find(name); it != dense_at.end()) {
      const Dense& d = it->second;
      state.emplace_back(d.name, HostTensor::from_floats({d.rows, d.cols}, d.values));
    } else if (!parts.count(name)) {
      state.emplace_back(name, std::move(tensor));
    }
  }
  return state;
}

void load_sparse(Sequential& model, const std::filesystem::path& path) {
  model.load_state_dict(load_sparse_state_dict(path));
}

// --- weight sparsity ---

WeightSparsityReport weight_sparsity(Sequential& model) {
  WeightSparsityReport report;
  report.total.name = "total";
  for (auto& [name, linear] : state::linear_layers(model)) {
    WeightSparsity s{name, linear->weight().numel(), 0};
    for (const float w : linear->weight().to_vector<float>()) s.zeros += w == 0.0f ? 1 : 0;
    report.total.elements += s.elements;
    report.total.zeros += s.zeros;
    report.layers.push_back(std::move(s));
  }
  return report;
}

std::string format_weight_sparsity(const WeightSparsityReport& report) {
  std::size_t width = std::string("weight").size();
  for (const auto& l : report.layers) width = std::max(width, l.name.size());
  std::string text;
  char line[256];
  const int w = static_cast<int>(width);
  std::snprintf(line, sizeof line, "%-*s %12s %12s %9s\n", w, "weight", "elements", "zeros", "sparsity");
  text += line;
  auto row = [&](const WeightSparsity& s) {
    std::snprintf(line, sizeof line, "%-*s %12llu %12llu %8.2f%%\n", w, s.name.c_str(),
                  static_cast<unsigned long long>(s.elements), static_cast<unsigned long long>(s.zeros),
                  100.0 * s.sparsity());
    text += line;
  };
  for (const auto& l : report.layers) row(l);
  row(report.total);
  return text;
}

}  // namespace vkgrad::nn
