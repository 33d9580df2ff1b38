#include "vkgrad/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <span>

#include <nlohmann/json.hpp>

#include "platform.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad {

// Tensor bytes are copied to and from memory as they are; the format is little endian.
static_assert(std::endian::native == std::endian::little, "vkgrad's safetensors layer assumes a little-endian host");

namespace {

// The reference implementation's limit: a larger header is refused as malformed.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail_file(const std::filesystem::path& path, const std::string& what) {
  throw InvalidArgument("vkgrad: safetensors file " + path.string() + ": " + what);
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
    case DType::f16: return "F16";
  }
  return "?";
}

namespace {

// numel · size, or false on overflow.
bool byte_count(const std::vector<uint64_t>& shape, std::size_t size, uint64_t& out) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / d) return false;
    n *= d;
  }
  if (size != 0 && n > std::numeric_limits<uint64_t>::max() / size) return false;
  out = n * size;
  return true;
}

}  // namespace

std::size_t safetensors_dtype_size(std::string_view dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "I64") return 8;
  if (dtype == "F16" || dtype == "I16") return 2;
  if (dtype == "U8") return 1;
  return 0;
}

uint64_t HostTensor::numel() const {
  uint64_t n = 0;
  if (!byte_count(shape, 1, n)) {
    throw InvalidArgument("vkgrad: HostTensor: shape " + shape_string(shape) + " overflows a 64-bit element count");
  }
  return n;
}

HostTensor HostTensor::from_floats(std::vector<uint64_t> shape, std::span<const float> values) {
  HostTensor h;
  h.dtype = "F32";
  h.shape = std::move(shape);
  if (h.numel() != values.size()) {
    throw InvalidArgument("vkgrad: HostTensor::from_floats: shape " + shape_string(h.shape) + " holds " +
                          std::to_string(h.numel()) + " elements, got " + std::to_string(values.size()) + " values");
  }
  h.bytes.resize(values.size() * 4);
  std::memcpy(h.bytes.data(), values.data(), h.bytes.size());  // x86 / ARM hosts are little endian
  return h;
}

HostTensor HostTensor::scalar_i64(int64_t value) {
  HostTensor h;
  h.dtype = "I64";
  h.bytes.resize(8);
  for (int i = 0; i < 8; ++i) h.bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
  return h;
}

int64_t HostTensor::to_i64(std::string_view name) const {
  if (dtype != "I64" || numel() != 1 || bytes.size() != 8) {
    throw InvalidArgument("vkgrad: '" + std::string(name) + "' must be an I64 scalar, got " + dtype + " " +
                          shape_string(shape));
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(bytes[i]) << (8 * i);
  return static_cast<int64_t>(v);
}

std::vector<float> HostTensor::to_floats() const {
  if (dtype != "F32") throw InvalidArgument("vkgrad: HostTensor::to_floats: the tensor is " + dtype + ", not F32");
  uint64_t expected = 0;
  if (!byte_count(shape, 4, expected) || expected != bytes.size()) {
    throw InvalidArgument("vkgrad: HostTensor::to_floats: F32 " + shape_string(shape) + " but " +
                          std::to_string(bytes.size()) + " bytes");
  }
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, HostTensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string where = "vkgrad: save_safetensors(" + path.string() + "): ";
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == "__metadata__") throw InvalidArgument(where + "invalid tensor name '" + name + "'");
    if (!names.insert(name).second) throw InvalidArgument(where + "tensor name '" + name + "' appears twice");
    const std::size_t size = safetensors_dtype_size(t.dtype);
    if (size == 0)
      throw InvalidArgument(where + "'" + name + "' has unsupported dtype '" + t.dtype + "' (F32, I32, I64, U8)");
    uint64_t expected = 0;
    if (!byte_count(t.shape, size, expected) || expected != t.bytes.size()) {
      throw InvalidArgument(where + "'" + name + "' is " + t.dtype + " " + shape_string(t.shape) + " but holds " +
                            std::to_string(t.bytes.size()) + " bytes");
    }
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    // JSON text must be UTF-8: nlohmann refuses to serialize any other string (type_error 316).
    throw InvalidArgument(where + "a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));

  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(detail::platform::process_id());
  std::vector<std::span<const uint8_t>> parts = {{length, 8},
                                                 {reinterpret_cast<const uint8_t*>(text.data()), text.size()}};
  for (const auto& [name, t] : tensors) parts.emplace_back(t.bytes.data(), t.bytes.size());
  const auto failure = detail::platform::replace_file_durably(tmp, path, parts);
  if (!failure) return;
  if (failure->step == detail::platform::FileStep::create) {
    throw Error(where + "cannot create " + tmp.string() + ": " + failure->message +
                " (does the directory exist and is it writable?)");
  }
  // Any later failure removes the temporary file and leaves `path` as it was.
  std::error_code ignored;
  std::filesystem::remove(tmp, ignored);
  const bool replacing = failure->step == detail::platform::FileStep::replace;
  const std::string doing = failure->step == detail::platform::FileStep::write ? "writing " + tmp.string() + " failed"
                            : replacing ? "cannot rename " + tmp.string() + " over it"
                                        : "closing " + tmp.string() + " failed";
  throw Error(where + doing + ": " + failure->message + " (" +
              (replacing ? "is the destination a directory?" : "disk full?") +
              "); the previous file, if any, is unchanged");
}

const HostTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail_file(path, "cannot read it: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open it");
  if (file_size < 8) {
    fail_file(path, "only " + std::to_string(file_size) + " bytes: too short for a safetensors header (truncated?)");
  }
  uint8_t length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= uint64_t(length_bytes[i]) << (8 * i);
  if (header_size > kMaxHeaderBytes) {
    fail_file(path, "header length " + std::to_string(header_size) + " exceeds 100 MB: not a safetensors file?");
  }
  if (header_size > file_size - 8) {
    fail_file(path, "header length " + std::to_string(header_size) + " runs past the end of the " +
                        std::to_string(file_size) + "-byte file (truncated, or not a safetensors file)");
  }
  std::string text(header_size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_size))) fail_file(path, "cannot read the header");

  // nlohmann keeps the last of duplicate keys silently: catch duplicates while parsing, in every
  // object (tensor names, the fields of an entry, metadata keys), as the reference's serde does for
  // the fields of an entry.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  nlohmann::json header;
  try {
    using Event = nlohmann::json::parse_event_t;
    header = nlohmann::json::parse(text, [&](int, Event event, nlohmann::json& parsed) {
      if (event == Event::object_start) {
        open_objects.emplace_back();
      } else if (event == Event::object_end) {
        if (!open_objects.empty()) open_objects.pop_back();
      } else if (event == Event::key && !open_objects.empty() && duplicate.empty()) {
        const auto key = parsed.get<std::string>();
        if (!open_objects.back().insert(key).second) {
          duplicate =
              open_objects.size() == 1 ? "tensor '" + key + "'" : "key '" + key + "' (in an entry or __metadata__)";
        }
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail_file(path, std::string("the header is not valid JSON (not a safetensors file, or corrupt?): ") + e.what());
  }
  if (!duplicate.empty()) fail_file(path, duplicate + " appears twice in the header");
  if (!header.is_object()) fail_file(path, "the header is not a JSON object (not a safetensors file?)");

  const uint64_t data_size = file_size - 8 - header_size;
  struct Entry {
    std::string name;
    HostTensor tensor;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  SafetensorsFile file;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (value.is_null()) continue;  // the reference reads null as "no metadata"
      if (!value.is_object()) fail_file(path, "__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) fail_file(path, "__metadata__ value '" + k + "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + name + "'";
    if (!value.is_object()) fail_file(path, what + " is not an object");
    const auto dtype = value.find("dtype"), shape = value.find("shape"), offsets = value.find("data_offsets");
    if (dtype == value.end() || shape == value.end() || offsets == value.end()) {
      fail_file(path, what + " lacks dtype, shape or data_offsets");
    }
    if (!dtype->is_string()) fail_file(path, what + ": dtype is not a string");
    Entry e{name, {}, 0, 0};
    e.tensor.dtype = dtype->get<std::string>();
    const std::size_t size = safetensors_dtype_size(e.tensor.dtype);
    if (size == 0)
      fail_file(path, what + " has dtype '" + e.tensor.dtype + "'; vkgrad reads F32, F16, I64, I32, I16 and U8");
    if (!shape->is_array()) fail_file(path, what + ": shape is not an array");
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) fail_file(path, what + ": shape holds " + d.dump() + ", not a non-negative integer");
      e.tensor.shape.push_back(d.get<uint64_t>());
    }
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      fail_file(path, what + ": data_offsets must be two non-negative integers [begin, end]");
    }
    e.begin = (*offsets)[0].get<uint64_t>();
    e.end = (*offsets)[1].get<uint64_t>();
    uint64_t expected = 0;
    if (!byte_count(e.tensor.shape, size, expected))
      fail_file(path, what + ": shape " + shape_string(e.tensor.shape) + " overflows");
    if (e.begin > e.end || e.end > data_size) {
      fail_file(path, what + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                          "] fall outside the " + std::to_string(data_size) + "-byte data (truncated file?)");
    }
    if (e.end - e.begin != expected) {
      fail_file(path, what + " is " + e.tensor.dtype + " " + shape_string(e.tensor.shape) + " = " +
                          std::to_string(expected) + " bytes, but its data_offsets span " +
                          std::to_string(e.end - e.begin));
    }
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t cursor = 0;
  for (const auto& e : entries) {
    if (e.begin != cursor) {
      fail_file(path, "tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) + " of the data, expected " +
                          std::to_string(cursor) + " (overlapping tensors or a hole)");
    }
    cursor = e.end;
  }
  if (cursor != data_size) {
    fail_file(path, std::to_string(data_size - cursor) + " bytes after the last tensor's data (corrupt file?)");
  }
  for (auto& e : entries) {
    e.tensor.bytes.resize(e.end - e.begin);  // bounded by the file size, checked above
    if (!e.tensor.bytes.empty() &&
        !in.read(reinterpret_cast<char*>(e.tensor.bytes.data()), static_cast<std::streamsize>(e.tensor.bytes.size()))) {
      fail_file(path, "reading tensor '" + e.name + "' failed (file changed while reading?)");
    }
    file.tensors.emplace_back(std::move(e.name), std::move(e.tensor));
  }
  return file;
}

HostTensor to_host(const Tensor& tensor) {
  if (tensor.empty()) throw InvalidArgument("vkgrad: to_host: the tensor is empty");
  HostTensor h;
  h.dtype = safetensors_dtype(tensor.dtype());
  for (uint64_t d : tensor.shape().dims()) h.shape.push_back(d);
  h.bytes.resize(tensor.size_bytes());
  switch (tensor.dtype()) {
    case DType::f32: tensor.download(std::span<float>(reinterpret_cast<float*>(h.bytes.data()), tensor.numel())); break;
    case DType::i32:
      tensor.download(std::span<int32_t>(reinterpret_cast<int32_t*>(h.bytes.data()), tensor.numel()));
      break;
    case DType::u8: tensor.download(std::span<uint8_t>(h.bytes.data(), tensor.numel())); break;
    case DType::f16: tensor.download(std::span<half>(reinterpret_cast<half*>(h.bytes.data()), tensor.numel())); break;
  }
  return h;
}

void load_into(const HostTensor& host, Tensor& tensor, std::string_view name) {
  const std::string want = safetensors_dtype(tensor.dtype());
  const auto dims = tensor.shape().dims();
  if (host.dtype != want || !std::equal(host.shape.begin(), host.shape.end(), dims.begin(), dims.end())) {
    throw InvalidArgument("vkgrad: checkpoint tensor '" + std::string(name) + "' is " + host.dtype + " " +
                          shape_string(host.shape) + " but the model expects " + want + " " +
                          tensor.shape().to_string());
  }
  if (host.bytes.size() != tensor.size_bytes()) {
    throw InvalidArgument("vkgrad: checkpoint tensor '" + std::string(name) + "' holds " +
                          std::to_string(host.bytes.size()) + " bytes, expected " +
                          std::to_string(tensor.size_bytes()));
  }
  switch (tensor.dtype()) {
    case DType::f32:
      tensor.upload(std::span<const float>(reinterpret_cast<const float*>(host.bytes.data()), tensor.numel()));
      break;
    case DType::i32:
      tensor.upload(std::span<const int32_t>(reinterpret_cast<const int32_t*>(host.bytes.data()), tensor.numel()));
      break;
    case DType::u8: tensor.upload(std::span<const uint8_t>(host.bytes.data(), tensor.numel())); break;
    case DType::f16:
      tensor.upload(std::span<const half>(reinterpret_cast<const half*>(host.bytes.data()), tensor.numel()));
      break;
  }
}

}  // namespace vkgrad
