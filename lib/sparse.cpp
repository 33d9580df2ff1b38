#include "vkgrad/sparse.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "checks.hpp"
#include "command_impl.hpp"
#include "vkgrad/elementwise.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;

// Push constants of sparse_linear_forward.comp.
struct SparseLinearPush {
  uint32_t M, N, K;
  float p0, p1, theta;
};

// Batch rows each invocation computes (the shader's ROWS, at most its MAX_ROWS of 8): each stored
// weight is loaded once per ROWS rows. A batch of fewer rows takes that many. 8 measured fastest of
// 1, 2, 4 and 8 on both kernel sets (bench/RESULTS.md).
constexpr uint32_t kRowsPerInvocation = 8;
// Invocations per workgroup (at most the device's limit): 32, 64, 128 and 256 measured alike; 64 is
// two 32-wide or one 64-wide subgroup, whatever the device's width.
constexpr uint32_t kLocalSize = 64;
// Stored weights per input (nnz / in_features) from which the cpu kernel set transposes X: between
// the measured cases where the transpose paid (51 per input) and where it did not (5; bench/RESULTS.md).
constexpr uint64_t kTransposeMinUses = 20;

// The host arrays of a SparseMatrix before upload.
struct HostArrays {
  std::vector<int32_t> offsets, columns;
  std::vector<float> values;
  uint64_t nnz = 0, max_row_nnz = 0;
};

// Entries beyond this do not fit the i32 index arrays (and the shader's uint arithmetic on them).
constexpr uint64_t kMaxEntries = (uint64_t{1} << 31) - 1;

// +0.0 and −0.0 are structural zeros (include/vkgrad/sparse.hpp); NaN is stored.
bool stored(float v) { return v != 0.0f; }

HostArrays compress(std::span<const float> dense, uint64_t rows, uint64_t cols, SparseFormat format) {
  const std::string op = "SparseMatrix";
  HostArrays a;
  std::vector<uint64_t> row_nnz(rows, 0);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t c = 0; c < cols; ++c) row_nnz[r] += stored(dense[r * cols + c]) ? 1 : 0;
    a.nnz += row_nnz[r];
    a.max_row_nnz = std::max(a.max_row_nnz, row_nnz[r]);
  }
  const uint64_t entries = format == SparseFormat::csr ? a.nnz : a.max_row_nnz * rows;
  if (entries > kMaxEntries) {
    throw UnsupportedError("vkgrad: " + op + ": " + std::to_string(entries) + " " + to_string(format) +
                           " entries for a " + std::to_string(rows) + " × " + std::to_string(cols) +
                           " matrix, more than the 2^31 - 1 its 32-bit indices address");
  }
  // At least one entry, so the tensors exist; a matrix without nonzeros never reads it.
  a.columns.assign(std::max<uint64_t>(entries, 1), 0);
  a.values.assign(std::max<uint64_t>(entries, 1), 0.0f);
  if (format == SparseFormat::csr) {
    a.offsets.assign(rows + 1, 0);
    uint64_t next = 0;
    for (uint64_t r = 0; r < rows; ++r) {
      a.offsets[r] = static_cast<int32_t>(next);
      for (uint64_t c = 0; c < cols; ++c) {
        const float v = dense[r * cols + c];
        if (!stored(v)) continue;
        a.columns[next] = static_cast<int32_t>(c);
        a.values[next] = v;
        ++next;
      }
    }
    a.offsets[rows] = static_cast<int32_t>(next);
  } else {
    a.offsets.assign(rows, 0);
    for (uint64_t r = 0; r < rows; ++r) {
      uint64_t k = 0;
      for (uint64_t c = 0; c < cols; ++c) {
        const float v = dense[r * cols + c];
        if (!stored(v)) continue;
        a.columns[k * rows + r] = static_cast<int32_t>(c);
        a.values[k * rows + r] = v;
        ++k;
      }
      a.offsets[r] = static_cast<int32_t>(k);
    }
  }
  return a;
}

}  // namespace

const char* to_string(SparseFormat format) { return format == SparseFormat::csr ? "csr" : "ell"; }

SparseMatrix SparseMatrix::from_host(Context& context, uint64_t rows, uint64_t cols, std::span<const float> dense,
                                     SparseFormat format) {
  if (rows == 0 || cols == 0 || dense.size() != rows * cols) {
    fail_argument("SparseMatrix", "needs rows, cols >= 1 and rows·cols values, got " + std::to_string(rows) + " × " +
                                      std::to_string(cols) + " and " + std::to_string(dense.size()) + " values");
  }
  if (format != SparseFormat::csr && format != SparseFormat::ell) {
    fail_argument("SparseMatrix", "unknown SparseFormat " + std::to_string(static_cast<uint32_t>(format)));
  }
  HostArrays a = compress(dense, rows, cols, format);
  SparseMatrix m;
  m.context_ = &context;
  m.format_ = format;
  m.rows_ = rows;
  m.cols_ = cols;
  m.nnz_ = a.nnz;
  m.max_row_nnz_ = a.max_row_nnz;
  m.row_offsets_ = Tensor::from<int32_t>(context, {a.offsets.size()}, a.offsets);
  m.column_indices_ = Tensor::from<int32_t>(context, {a.columns.size()}, a.columns);
  m.values_ = Tensor::from<float>(context, {a.values.size()}, a.values);
  return m;
}

SparseMatrix SparseMatrix::from_dense(Context& context, const Tensor& W, SparseFormat format) {
  const std::string op = "SparseMatrix::from_dense";
  if (W.empty()) fail_argument(op, "tensor 'W' is empty (default-constructed or moved from)");
  if (W.shared_buffer()->context != context.shared_impl()) {
    fail_argument(op, "tensor 'W' belongs to another Context than the one given; create it on the same Context");
  }
  detail::require_matrix(W, op, "W");
  const std::vector<float> dense = W.to_vector();
  return from_host(context, W.shape()[0], W.shape()[1], dense, format);
}

std::vector<float> SparseMatrix::to_host() const {
  if (empty()) fail_argument("SparseMatrix::to_host", "the matrix is empty (default-constructed or moved from)");
  const auto offsets = row_offsets_.to_vector<int32_t>();
  const auto columns = column_indices_.to_vector<int32_t>();
  const auto vals = values_.to_vector<float>();
  std::vector<float> dense(rows_ * cols_, 0.0f);
  for (uint64_t r = 0; r < rows_; ++r) {
    const uint64_t first = format_ == SparseFormat::csr ? offsets[r] : r;
    const uint64_t count = format_ == SparseFormat::csr ? offsets[r + 1] - offsets[r] : offsets[r];
    const uint64_t step = format_ == SparseFormat::csr ? 1 : rows_;
    for (uint64_t k = 0; k < count; ++k) dense[r * cols_ + columns[first + k * step]] = vals[first + k * step];
  }
  return dense;
}

void SparseMatrix::to_dense(Tensor& W) const {
  const std::string op = "SparseMatrix::to_dense";
  if (empty()) fail_argument(op, "the matrix is empty (default-constructed or moved from)");
  if (W.empty()) fail_argument(op, "tensor 'W' is empty (default-constructed or moved from)");
  if (W.shared_buffer()->context != values_.shared_buffer()->context) {
    fail_argument(op, "tensor 'W' belongs to another Context than the matrix; create it on the same Context");
  }
  detail::require_matrix(W, op, "W");
  if (W.shape()[0] != rows_ || W.shape()[1] != cols_) {
    fail_argument(op, "'W' is " + W.shape().to_string() + ", the matrix is " + std::to_string(rows_) + " × " +
                          std::to_string(cols_));
  }
  W.upload(to_host());
}

uint64_t SparseMatrix::size_bytes() const {
  return row_offsets_.size_bytes() + column_indices_.size_bytes() + values_.size_bytes();
}

void sparse_linear_forward(CommandList& cmd, const Tensor& X, const SparseMatrix& W, const Tensor& b, Tensor& Y,
                           const ActivationSpec& act) {
  auto& c = cmd.impl();
  const std::string op = "sparse_linear_forward";
  if (W.empty()) fail_argument(op, "the SparseMatrix 'W' is empty (default-constructed or moved from)");
  if (W.values().shared_buffer()->context != c.ctx) {
    fail_argument(op,
                  "the SparseMatrix 'W' belongs to another Context than the command list; build it with "
                  "SparseMatrix::from_dense on the same Context");
  }
  c.check_tensor(X, op, "X");
  c.check_tensor(Y, op, "Y");
  detail::require_matrix(X, op, "X");
  detail::require_matrix(Y, op, "Y");
  const bool has_bias = !b.empty();
  if (has_bias) {
    c.check_tensor(b, op, "b");
    detail::require_f32(b, op, "b");
  }
  const uint64_t batch = X.shape()[0], in = X.shape()[1], out = W.rows();
  if (W.cols() != in || Y.shape()[0] != batch || Y.shape()[1] != out || (has_bias && b.numel() != out)) {
    fail_argument(op, "shapes do not fit Y = X·Wᵀ + b: X " + X.shape().to_string() + ", W [" + std::to_string(out) +
                          ", " + std::to_string(W.cols()) + "] (sparse), b " +
                          (has_bias ? b.shape().to_string() : "(none)") + ", Y " + Y.shape().to_string() +
                          "; expected X (N × in), W (out × in), b (out), Y (N × out) as in nn.Linear");
  }
  detail::require_distinct(Y, "Y", X, "X", op);
  if (has_bias) detail::require_distinct(Y, "Y", b, "b", op);
  detail::require_32bit_indexable(X, op, "X");
  detail::require_32bit_indexable(Y, op, "Y");

  // The cpu kernel set reads Xᵀ (transposed into scratch by one more dispatch) where every element of
  // X meets enough stored weights on average (nnz / in) to pay for the transpose: then the
  // invocations of a SIMD batch share their weight entries and read adjacent elements of Xᵀ.
  const bool transposed =
      c.context().kernels.set == KernelSet::cpu && batch >= kRowsPerInvocation && W.nnz() >= kTransposeMinUses * in;
  const uint32_t rows_per_invocation = static_cast<uint32_t>(std::min<uint64_t>(batch, kRowsPerInvocation));
  const bool vec4 = transposed && batch % 4 == 0 && rows_per_invocation % 4 == 0;
  const uint32_t local = std::min<uint32_t>(kLocalSize, detail::default_local_size(c.device()));
  const uint64_t items = (batch + rows_per_invocation - 1) / rows_per_invocation * out;
  Tensor Xt;
  if (transposed) {
    Xt = Tensor(W.context(), {in, batch});
    transpose(cmd, X, Xt);
  }
  const detail::Kernel kernel{
      "sparse_linear_forward",
      {local, has_bias ? 1u : 0u, static_cast<uint32_t>(act.kind), act.sparse ? 1u : 0u,
       W.format() == SparseFormat::ell ? 1u : 0u, rows_per_invocation, transposed ? 1u : 0u, vec4 ? 1u : 0u},
      6,
      sizeof(SparseLinearPush)};
  // Without a bias, binding 4 is never read (HAS_BIAS is false); X stands in for it.
  const Tensor& bias = has_bias ? b : X;
  const std::initializer_list<detail::BufferUse> uses{{transposed ? &Xt : &X, detail::Access::read},
                                                      {&W.row_offsets(), detail::Access::read},
                                                      {&W.column_indices(), detail::Access::read},
                                                      {&W.values(), detail::Access::read},
                                                      {&bias, detail::Access::read},
                                                      {&Y, detail::Access::write}};
  const SparseLinearPush push{static_cast<uint32_t>(batch),
                              static_cast<uint32_t>(out),
                              static_cast<uint32_t>(in),
                              act.params[0],
                              act.params[1],
                              act.theta};
  c.dispatch(kernel, uses, &push, sizeof push, {detail::grid_stride_groups(c.context(), items, local), 1, 1},
             op + " " + to_string(W.format()) + " " + act.to_string());
}

namespace {

// The measured crossover on lavapipe (bench/RESULTS.md, bench/sparse_bench.cpp): for each kernel
// set, batch and MNIST layer shape, the largest measured density (0.5, 0.2, 0.1, 0.05, 0.02) at
// which the CSR kernel took at most 95 % of linear_forward's time (a margin over the host's
// noise; cpu set: the median of 4 runs); 0 where it never did. On the gpu set every measured density won, because
// lavapipe runs the GPU set's shared-memory GEMM slowly: the figures hold for CPU devices only.
struct CrossoverRow {
  uint64_t batch;
  double density[3];  // layers 256→10, 512→256, 784→512 (weight counts kLayerWeights)
};
constexpr double kLayerWeights[3] = {256.0 * 10, 512.0 * 256, 784.0 * 512};
constexpr CrossoverRow kCpuSetCrossover[] = {{1, {0.5, 0.2, 0.2}}, {128, {0.1, 0.1, 0.1}}, {1024, {0.1, 0.05, 0.1}}};
constexpr CrossoverRow kGpuSetCrossover[] = {{1, {0.5, 0.5, 0.5}}, {128, {0.5, 0.5, 0.5}}, {1024, {0.5, 0.5, 0.5}}};

// The index of the measured value nearest to `v` on a log scale.
template <class Get>
std::size_t nearest(std::size_t count, double v, Get get) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < count; ++i) {
    if (std::fabs(std::log(v / get(i))) < std::fabs(std::log(v / get(best)))) best = i;
  }
  return best;
}

}  // namespace

double sparse_crossover_density(const Context& context, uint64_t rows, uint64_t in, uint64_t out) {
  if (const char* v = std::getenv("VKGRAD_SPARSE_CROSSOVER"); v && *v) {
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    if (*end != '\0' || !(d >= 0.0 && d <= 1.0)) {
      fail_argument("sparse_crossover_density",
                    "VKGRAD_SPARSE_CROSSOVER='" + std::string(v) + "' is not a density in [0, 1] (e.g. 0.1)");
    }
    return d;
  }
  // No GPU has been measured: there the dense product stays the default until one is.
  if (context.device().type != DeviceType::cpu) return 0.0;
  const auto& table = context.kernels().set == KernelSet::cpu ? kCpuSetCrossover : kGpuSetCrossover;
  const std::size_t rows_count = std::size(table);
  const CrossoverRow& row = table[nearest(rows_count, static_cast<double>(std::max<uint64_t>(rows, 1)),
                                          [&](std::size_t i) { return static_cast<double>(table[i].batch); })];
  const double weights =
      static_cast<double>(std::max<uint64_t>(in, 1)) * static_cast<double>(std::max<uint64_t>(out, 1));
  return row.density[nearest(std::size(kLayerWeights), weights, [](std::size_t i) { return kLayerWeights[i]; })];
}

bool sparse_is_faster(const Context& context, uint64_t rows, uint64_t in, uint64_t out, double density) {
  return density <= sparse_crossover_density(context, rows, in, out);
}

}  // namespace vkgrad
