/// \file
/// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of JSON describing every tensor (dtype, shape, byte range),
/// then the raw little-endian data. PyTorch loads such a file with safetensors.torch.load_file.
///
/// The layer works on host copies (HostTensor) because a state_dict holds dtypes vkgrad tensors do not
/// have (BatchNorm's num_batches_tracked is an I64 scalar); to_host / load_into move device tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// A tensor in host memory as stored in a safetensors file.
struct HostTensor {
  /// "F32", "F16", "I32", "I64", "I16" or "U8" (the dtypes vkgrad reads and writes).
  std::string dtype;
  /// Dimensions; empty for a scalar (one element).
  std::vector<uint64_t> shape;
  /// numel · dtype size bytes, little endian.
  std::vector<uint8_t> bytes;

  /// The shape's element count (1 for a scalar); InvalidArgument if it overflows 64 bits.
  uint64_t numel() const;
  /// An F32 tensor holding `values` with `shape` (values.size() must be the shape's element count).
  static HostTensor from_floats(std::vector<uint64_t> shape, std::span<const float> values);
  /// The values of an F32 tensor (InvalidArgument for another dtype).
  std::vector<float> to_floats() const;
  /// An I64 scalar (shape []), e.g. BatchNorm's num_batches_tracked or an optimizer's step.
  static HostTensor scalar_i64(int64_t value);
  /// The value of an I64 scalar; InvalidArgument naming `name` for anything else.
  int64_t to_i64(std::string_view name) const;
};

/// The safetensors dtype name of a vkgrad dtype: "F32", "I32", "U8", "F16".
const char* safetensors_dtype(DType type);

/// Bytes per element of a safetensors dtype name; 0 when vkgrad does not support it.
std::size_t safetensors_dtype_size(std::string_view dtype);

/// Writes `tensors` (in this order) and `metadata` (the "__metadata__" string map) to `path`
/// atomically: a temporary file in the same directory, flushed and fsync'ed, then renamed over
/// `path`, so a crash or a full disk never leaves a truncated checkpoint in its place.
/// Throws InvalidArgument for an empty or duplicate name, an unsupported dtype, or bytes that do not
/// match the shape; Error (naming the path and the OS error) when the file cannot be written.
void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, HostTensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// The contents of a safetensors file.
struct SafetensorsFile {
  /// The header's "__metadata__" string map; empty when the file has none.
  std::map<std::string, std::string> metadata;
  /// In the order of their data in the file.
  std::vector<std::pair<std::string, HostTensor>> tensors;
  /// The tensor called `name`, or null.
  const HostTensor* find(std::string_view name) const;
};

/// Reads and validates a whole safetensors file. Refuses, with an InvalidArgument naming the file
/// and the problem: a file shorter than its header, a header length beyond the file or above 100 MB,
/// invalid JSON, entries without dtype / shape / data_offsets, unknown dtypes, offsets outside the
/// data, sizes that do not match the shape, overlapping or non-contiguous data, duplicate names,
/// trailing bytes, and non-string metadata. Never reads out of bounds or allocates from an
/// unchecked size.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

/// Downloads a device tensor (waiting for submitted work) into a HostTensor of its dtype and shape.
HostTensor to_host(const Tensor& tensor);

/// Uploads `host` into `tensor` after checking dtype and shape match, else InvalidArgument such as
/// "checkpoint tensor '0.weight' is F32 [512, 784] but the model expects F32 [256, 784]".
void load_into(const HostTensor& host, Tensor& tensor, std::string_view name);

}  // namespace vkgrad
