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

/// Element type. f32 for activations and parameters; i32 for labels and indices; u8 for datasets.
enum class DType : uint32_t { f32, i32, u8 };

const char* to_string(DType type);
std::size_t dtype_size(DType type);

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }

/// A shape of 1 to 4 dimensions, each >= 1. Row-major (the last dimension is contiguous).
class Shape {
 public:
  static constexpr std::size_t max_rank = 4;
  Shape() = default;  ///< rank 0: only for default-constructed (empty) tensors
  Shape(std::initializer_list<uint64_t> dims);
  explicit Shape(std::span<const uint64_t> dims);

  std::size_t rank() const { return rank_; }
  uint64_t operator[](std::size_t i) const { return dims_.at(i); }
  uint64_t numel() const;
  std::span<const uint64_t> dims() const { return {dims_.data(), rank_}; }
  /// "[128, 784]"
  std::string to_string() const;
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
  Tensor() = default;
  Tensor(Context& context, Shape shape, DType dtype = DType::f32);
  ~Tensor();
  Tensor(Tensor&&) noexcept;
  Tensor& operator=(Tensor&&) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  /// A tensor holding a copy of `data` (data.size() must equal shape.numel()).
  template <class T>
  static Tensor from(Context& context, Shape shape, std::span<const T> data) {
    Tensor t(context, shape, dtype_of<T>());
    t.upload(data);
    return t;
  }
  static Tensor from(Context& context, Shape shape, const std::vector<float>& data) {
    return from<float>(context, shape, std::span<const float>(data));
  }

  bool empty() const { return buffer_ == nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  uint64_t numel() const { return shape_.numel(); }
  uint64_t size_bytes() const { return numel() * dtype_size(dtype_); }

  template <class T> void upload(std::span<const T> data) { upload_bytes(dtype_of<T>(), data.data(), data.size()); }
  void upload(const std::vector<float>& data) { upload(std::span<const float>(data)); }
  template <class T> void download(std::span<T> out) const { download_bytes(dtype_of<T>(), out.data(), out.size()); }
  template <class T = float> std::vector<T> to_vector() const {
    std::vector<T> out(numel());
    download(std::span<T>(out));
    return out;
  }
  /// Sets every element to `value` (converted to the dtype; for f32 the bit pattern is kept, so NaN
  /// payloads survive).
  void fill(float value);
  /// Same dtype and element count: reinterpret as another shape (no copy). Throws on mismatch.
  void reshape(Shape shape);

  detail::Buffer& buffer() const;
  const std::shared_ptr<detail::Buffer>& shared_buffer() const { return buffer_; }

 private:
  void upload_bytes(DType type, const void* data, std::size_t count);
  void download_bytes(DType type, void* out, std::size_t count) const;

  std::shared_ptr<detail::Buffer> buffer_;
  Shape shape_;
  DType dtype_ = DType::f32;
};

}  // namespace vkgrad
