#include "vkgrad/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "context_impl.hpp"
#include "errors.hpp"

namespace vkgrad {

const char* to_string(DType type) {
  switch (type) {
    case DType::f32: return "f32";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::f16: return "f16";
  }
  return "?";
}

std::size_t dtype_size(DType type) {
  switch (type) {
    case DType::f32: return 4;
    case DType::i32: return 4;
    case DType::u8: return 1;
    case DType::f16: return 2;
  }
  return 0;
}

Shape::Shape(std::initializer_list<uint64_t> dims) : Shape(std::span<const uint64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const uint64_t> dims) {
  if (dims.empty() || dims.size() > max_rank) {
    throw InvalidArgument("vkgrad: a shape has 1 to 4 dimensions, got " + std::to_string(dims.size()));
  }
  std::copy(dims.begin(), dims.end(), dims_.begin());
  rank_ = dims.size();
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    throw InvalidArgument("vkgrad: shape " + to_string() + " has a zero dimension; every dimension must be >= 1");
  }
  uint64_t n = 1;
  for (std::size_t i = 0; i < rank_; ++i) {
    if (dims_[i] > std::numeric_limits<uint64_t>::max() / n) {
      throw InvalidArgument("vkgrad: shape " + to_string() + " has more elements than fit in 64 bits");
    }
    n *= dims_[i];
  }
}

uint64_t Shape::numel() const {
  if (rank_ == 0) return 0;
  uint64_t n = 1;
  for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

bool Shape::operator==(const Shape& other) const {
  return rank_ == other.rank_ && std::equal(dims_.begin(), dims_.begin() + rank_, other.dims_.begin());
}

Tensor::Tensor(Context& context, Shape shape, DType dtype) : shape_(shape), dtype_(dtype) {
  auto& ctx = context.impl();
  ctx.check_usable();
  if (shape.rank() == 0) throw InvalidArgument("vkgrad: a tensor needs a shape of 1 to 4 dimensions");
  const uint64_t bytes = shape.numel() * dtype_size(dtype);
  if (shape.numel() > std::numeric_limits<uint32_t>::max() || bytes / dtype_size(dtype) != shape.numel() ||
      bytes > ctx.info.max_storage_buffer_range) {
    throw UnsupportedError("vkgrad: a tensor of shape " + shape.to_string() + " " + to_string(dtype) + " needs " +
                           detail::format_bytes(bytes) + ", more than " + ctx.info.name +
                           " can bind as one storage buffer (maxStorageBufferRange " +
                           detail::format_bytes(ctx.info.max_storage_buffer_range) +
                           "). Split it into smaller tensors (e.g. smaller batches).");
  }
  buffer_ = std::make_shared<detail::Buffer>(context.shared_impl(), bytes, detail::MemoryUsage::device);
}

Tensor::~Tensor() = default;
Tensor::Tensor(Tensor&&) noexcept = default;
Tensor& Tensor::operator=(Tensor&&) noexcept = default;

detail::Buffer& Tensor::buffer() const {
  if (!buffer_) throw InvalidArgument("vkgrad: the tensor is empty (default-constructed or moved from)");
  return *buffer_;
}

Tensor Tensor::from_storage(std::shared_ptr<detail::Buffer> storage, Shape shape, DType dtype) {
  if (!storage || shape.rank() == 0 || storage->size < shape.numel() * dtype_size(dtype)) {
    throw InvalidArgument("vkgrad: from_storage: no storage, or too small for " + shape.to_string() + " " +
                          to_string(dtype));
  }
  Tensor t;
  t.buffer_ = std::move(storage);
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::prefix_view(Shape shape) const {
  if (!buffer_) throw InvalidArgument("vkgrad: the tensor is empty (default-constructed or moved from)");
  if (shape.rank() == 0 || shape.numel() > numel()) {
    throw InvalidArgument("vkgrad: a view of shape " + shape.to_string() + " does not fit in a tensor of shape " +
                          shape_.to_string());
  }
  Tensor view;
  view.buffer_ = buffer_;
  view.shape_ = shape;
  view.dtype_ = dtype_;
  return view;
}

void Tensor::reshape(Shape shape) {
  if (shape.numel() != numel()) {
    throw InvalidArgument("vkgrad: cannot reshape " + shape_.to_string() + " (" + std::to_string(numel()) +
                          " elements) to " + shape.to_string() + " (" + std::to_string(shape.numel()) + " elements)");
  }
  shape_ = shape;
}

namespace detail {
uint32_t fill_pattern(DType type, float value) {
  uint32_t pattern = 0;
  switch (type) {
    case DType::f32: std::memcpy(&pattern, &value, 4); break;
    case DType::i32: pattern = static_cast<uint32_t>(static_cast<int32_t>(value)); break;
    case DType::u8: pattern = 0x01010101u * static_cast<uint8_t>(value); break;
    case DType::f16: pattern = 0x00010001u * to_half(value).bits; break;
  }
  return pattern;
}
}  // namespace detail

namespace {

constexpr const char* kOnEmptyTensor = " on an empty tensor (default-constructed or moved from)";

void check_transfer(const Tensor& t, DType type, std::size_t count, const char* what) {
  if (t.empty()) throw InvalidArgument(std::string("vkgrad: ") + what + kOnEmptyTensor);
  if (type != t.dtype()) {
    throw InvalidArgument(std::string("vkgrad: ") + what + ": host data is " + to_string(type) + " but the tensor " +
                          t.shape().to_string() + " is " + to_string(t.dtype()));
  }
  if (count != t.numel()) {
    throw InvalidArgument(std::string("vkgrad: ") + what + ": host data has " + std::to_string(count) +
                          " elements but the tensor " + t.shape().to_string() + " has " + std::to_string(t.numel()));
  }
}

constexpr vk::DeviceSize kStagingChunk = 16ull << 20;

}  // namespace

void Tensor::upload_bytes(DType type, const void* data, std::size_t count) {
  check_transfer(*this, type, count, "upload");
  detail::Buffer& b = *buffer_;
  b.require_transfer(true, "upload");
  detail::ContextImpl& ctx = *b.context;
  const auto* src = static_cast<const std::byte*>(data);
  if (b.allocation.mapped) {
    ctx.wait_queue_idle();  // no submitted work may still be reading or writing this memory
    std::memcpy(b.allocation.mapped, src, size_bytes());
    return;
  }
  std::lock_guard lock(ctx.transfer_mutex);
  for (vk::DeviceSize done = 0; done < size_bytes();) {
    const vk::DeviceSize n = std::min(kStagingChunk, size_bytes() - done);
    detail::Buffer& staging = ctx.staging(std::min(kStagingChunk, size_bytes()));
    std::memcpy(staging.allocation.mapped, src + done, n);
    ctx.run_once([&](vk::raii::CommandBuffer& cb) {
      cb.copyBuffer(staging.handle(), b.handle(), vk::BufferCopy(0, b.offset + done, n));
    });
    done += n;
  }
}

void Tensor::download_bytes(DType type, void* out, std::size_t count) const {
  check_transfer(*this, type, count, "download");
  detail::Buffer& b = *buffer_;
  b.require_transfer(false, "download");
  detail::ContextImpl& ctx = *b.context;
  auto* dst = static_cast<std::byte*>(out);
  if (b.allocation.mapped) {
    ctx.wait_queue_idle();
    std::memcpy(dst, b.allocation.mapped, size_bytes());
    return;
  }
  std::lock_guard lock(ctx.transfer_mutex);
  for (vk::DeviceSize done = 0; done < size_bytes();) {
    const vk::DeviceSize n = std::min(kStagingChunk, size_bytes() - done);
    detail::Buffer& staging = ctx.staging(std::min(kStagingChunk, size_bytes()));
    ctx.run_once([&](vk::raii::CommandBuffer& cb) {
      cb.copyBuffer(b.handle(), staging.handle(), vk::BufferCopy(b.offset + done, 0, n));
    });
    std::memcpy(dst + done, staging.allocation.mapped, n);
    done += n;
  }
}

void Tensor::fill(float value) {
  if (empty()) throw InvalidArgument(std::string("vkgrad: fill") + kOnEmptyTensor);
  const detail::Buffer& b = *buffer_;
  b.require_transfer(true, "fill");
  detail::ContextImpl& ctx = *b.context;
  const uint32_t pattern = detail::fill_pattern(dtype_, value);
  std::lock_guard lock(ctx.transfer_mutex);
  ctx.run_once([&](vk::raii::CommandBuffer& cb) { cb.fillBuffer(b.handle(), b.offset, b.fill_size(), pattern); });
}

}  // namespace vkgrad
