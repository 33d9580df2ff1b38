/// \file
/// Tensors: contiguous, 1- to 4-D, living in device memory sub-allocated from large blocks.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vkgrad/context.hpp"

namespace vkgrad {

namespace detail {
struct Buffer;
}
struct VulkanBuffer;
namespace nn {
class Sequential;
}

/// Element type. f32 for activations and parameters; i32 for labels and indices; u8 for datasets;
/// f16 (IEEE 754 binary16) as a storage format: cast converts to and from f32; gemm,
/// linear_forward and linear_backward read it for their matrix inputs (f32 accumulation); every
/// other op takes f32.
enum class DType : uint32_t { f32, i32, u8, f16 };

/// "f32", "i32", "u8" or "f16".
const char* to_string(DType type);
/// Bytes per element: 4, 4, 1 or 2.
std::size_t dtype_size(DType type);

/// One IEEE 754 binary16 value on the host, as its 16 bits: the element type of f16 tensors
/// (Tensor::from, upload, download). Convert with to_half / to_float.
struct half {
  uint16_t bits = 0;  ///< sign (bit 15), exponent (bits 10-14, bias 15), mantissa (bits 0-9)
  /// Same bits (so +0 and -0 differ, and a NaN equals itself).
  friend bool operator==(half, half) = default;
};
/// `value` rounded to the nearest binary16 value, ties to even; beyond ±65504 rounds to ±inf as
/// IEEE 754 prescribes (from 65520 on), values below 2^-25 in magnitude to ±0; NaN stays NaN (quiet,
/// sign and the top 9 payload bits kept). The device's cast computes the same bits.
half to_half(float value);
/// The exact float value of `value` (every binary16 value is a float; NaN payloads are kept).
float to_float(half value);
/// to_half / to_float of every element.
///@{
std::vector<half> to_half(std::span<const float> values);
std::vector<float> to_float(std::span<const half> values);
///@}

/// The DType of a C++ element type: float → f32, int32_t → i32, uint8_t → u8, half → f16 (the
/// primary template has no definition). Tensor::from, upload and download use it to check host data.
///@{
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::u8;
}
template <>
constexpr DType dtype_of<half>() {
  return DType::f16;
}
///@}

/// A shape of 1 to 4 dimensions, each >= 1. Row-major (the last dimension is contiguous).
class Shape {
 public:
  /// The most dimensions a shape (and a tensor) can have.
  static constexpr std::size_t max_rank = 4;
  Shape() = default;  ///< rank 0: only for default-constructed (empty) tensors
  /// The shape {d0, d1, ...}, outermost first. Throws InvalidArgument for 0 or more than
  /// max_rank dimensions, a zero dimension, or more elements than fit in 64 bits.
  Shape(std::initializer_list<uint64_t> dims);
  /// As the initializer-list constructor, from a span of dimensions.
  explicit Shape(std::span<const uint64_t> dims);

  /// Number of dimensions: 1 to 4 (0 for a default-constructed shape).
  std::size_t rank() const { return rank_; }
  /// Dimension i (0 = outermost); i must be < rank().
  uint64_t operator[](std::size_t i) const { return dims_.at(i); }
  /// Element count: the product of the dimensions (0 for rank 0).
  uint64_t numel() const;
  /// The rank() dimensions.
  std::span<const uint64_t> dims() const { return {dims_.data(), rank_}; }
  /// "[128, 784]"
  std::string to_string() const;
  /// Same rank and same dimensions ([6] and [2, 3] differ).
  bool operator==(const Shape& other) const;

 private:
  std::array<uint64_t, max_rank> dims_{};
  std::size_t rank_ = 0;
};

/// A device tensor. Move-only; a default-constructed Tensor is empty (no storage).
///
/// upload/download/fill are synchronous: they wait for all work submitted to the context to finish
/// first, so they never race a command list that is still running.
class Tensor {
 public:
  /// An empty tensor (no storage): only assigning to it and empty() are useful.
  Tensor() = default;
  /// A tensor of `shape` and `dtype` in device memory, contents unspecified (fill or upload it).
  /// Throws InvalidArgument for a default-constructed shape, UnsupportedError when it has 2^32 or
  /// more elements or more bytes than DeviceInfo::max_storage_buffer_range, OutOfMemoryError when
  /// device memory runs out.
  Tensor(Context& context, Shape shape, DType dtype = DType::f32);
  /// Releases this tensor's reference to its storage; command lists that recorded it keep the
  /// storage until they are reset or destroyed.
  ~Tensor();
  /// Takes over the storage; the moved-from tensor is empty.
  Tensor(Tensor&&) noexcept;
  /// Releases this tensor's storage (as the destructor) and takes over the other's; the moved-from
  /// tensor is empty.
  Tensor& operator=(Tensor&&) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  /// A tensor of `shape` and `dtype` over a range of an application's VkBuffer (include
  /// vkgrad/interop.hpp), which vkgrad reads and writes but never frees; the buffer must be of
  /// `context`'s device (Vulkan gives no way to check) and outlive the tensor and every command
  /// list that recorded it. The elements start at buffer.offset and take numel·dtype_size bytes,
  /// which buffer.size must cover rounded up to a multiple of 4 (shaders read and write 32-bit
  /// words, so f16 and u8 tensors may have those last bytes written); beyond them vkgrad writes
  /// nothing, and may read up to buffer.size (the partial last group of 4 elements of a texel load). buffer.usage must
  /// include buffer_usage::storage; transfer_src / transfer_dst are needed for download / upload, fill and copy; with
  /// uniform_texel (and offset a multiple of minTexelBufferOffsetAlignment) the texel-load kernels may read it, else
  /// its reads go through the storage-buffer kernels. Two wrapped tensors over overlapping bytes must not be passed to
  /// one op (vkgrad cannot see the aliasing). Throws InvalidArgument for a null buffer, a usage without storage, an
  /// offset that is not a multiple of minStorageBufferOffsetAlignment (and of 4), or a size too small for the shape;
  /// UnsupportedError as the other constructor.
  static Tensor wrap(Context& context, const VulkanBuffer& buffer, Shape shape, DType dtype = DType::f32);
  /// Where the tensor lives (include vkgrad/interop.hpp): its VkBuffer, the offset of its first
  /// element, its size in bytes (size_bytes()) and the buffer's usage flags. For the application to
  /// read or write it in its own commands, ordered with vkgrad's by CommandList::submit(const
  /// SubmitSync&) or CommandList::record_into. InvalidArgument on an empty tensor.
  VulkanBuffer vulkan_buffer() const;

  /// A tensor of dtype_of<T>() holding a copy of `data` (data.size() must equal shape.numel(), else
  /// InvalidArgument). Synchronous, as upload.
  template <class T>
  static Tensor from(Context& context, Shape shape, std::span<const T> data) {
    Tensor t(context, shape, dtype_of<T>());
    t.upload(data);
    return t;
  }
  /// An f32 tensor holding a copy of `data`, as from<float>.
  static Tensor from(Context& context, Shape shape, const std::vector<float>& data) {
    return from<float>(context, shape, std::span<const float>(data));
  }

  /// True for a default-constructed or moved-from tensor (no storage).
  bool empty() const { return buffer_ == nullptr; }
  /// The shape (rank 0 for a default-constructed tensor; a moved-from one keeps its shape).
  const Shape& shape() const { return shape_; }
  /// The element type.
  DType dtype() const { return dtype_; }
  /// Element count of shape() (0 for a default-constructed tensor).
  uint64_t numel() const { return shape_.numel(); }
  /// Size of the data in bytes: numel() · dtype_size(dtype()).
  uint64_t size_bytes() const { return numel() * dtype_size(dtype_); }

  /// Copies `data` into the tensor (synchronous). T must match dtype() and data.size() numel(),
  /// else InvalidArgument; InvalidArgument on an empty tensor.
  template <class T>
  void upload(std::span<const T> data) {
    upload_bytes(dtype_of<T>(), data.data(), data.size());
  }
  /// upload of f32 data from a vector.
  void upload(const std::vector<float>& data) { upload(std::span<const float>(data)); }
  /// Copies the tensor into `out` (synchronous). T must match dtype() and out.size() numel(), else
  /// InvalidArgument; InvalidArgument on an empty tensor.
  template <class T>
  void download(std::span<T> out) const {
    download_bytes(dtype_of<T>(), out.data(), out.size());
  }
  /// download into a new vector of numel() elements of T (float by default).
  template <class T = float>
  std::vector<T> to_vector() const {
    std::vector<T> out(numel());
    download(std::span<T>(out));
    return out;
  }
  /// Sets every element to `value` (converted to the dtype; for f32 the bit pattern is kept, so NaN
  /// payloads survive; for f16 rounded as to_half).
  void fill(float value);
  /// Same dtype and element count: reinterpret as another shape (no copy). Throws InvalidArgument
  /// when the element counts differ.
  void reshape(Shape shape);

  /// The storage, for vkgrad's own ops (lib/); not part of the stable API. Throws InvalidArgument
  /// on an empty tensor.
  detail::Buffer& buffer() const;
  /// The shared storage that command lists retain; null when empty. Not part of the stable API.
  const std::shared_ptr<detail::Buffer>& shared_buffer() const { return buffer_; }
  /// A tensor over `storage` (for vkgrad's own code, e.g. host-visible staging tensors); not part of
  /// the stable API. InvalidArgument when the storage is null or smaller than shape and dtype need.
  static Tensor from_storage(std::shared_ptr<detail::Buffer> storage, Shape shape, DType dtype);

 private:
  /// Sequential sizes its inference buffers for its largest batch and runs smaller batches in
  /// prefix_view()s of them.
  friend class nn::Sequential;
  /// A tensor of `shape` over the first shape.numel() elements of this tensor's storage, which it
  /// shares (the storage lives until every tensor and command list using it lets go). Reads and
  /// writes of ops stay within the view's elements, but CommandList::fill and Tensor::fill cover
  /// the whole storage. Same dtype; InvalidArgument on an empty tensor or when `shape` has more
  /// elements than this tensor.
  Tensor prefix_view(Shape shape) const;

  void upload_bytes(DType type, const void* data, std::size_t count);
  void download_bytes(DType type, void* out, std::size_t count) const;

  std::shared_ptr<detail::Buffer> buffer_;
  Shape shape_;
  DType dtype_ = DType::f32;
};

}  // namespace vkgrad
