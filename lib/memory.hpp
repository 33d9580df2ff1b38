// Device-memory sub-allocation. Tensors are bound to ranges of large blocks instead of owning one
// vkAllocateMemory each (drivers limit the allocation count and each allocation is slow).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "vkgrad/tensor.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

struct ContextImpl;

enum class MemoryUsage {
  device,   ///< tensors: device-local; also host-visible (mapped) on unified-memory devices
  staging,  ///< host-visible coherent, for uploads and downloads on discrete devices
};

struct Allocation {
  vk::DeviceMemory memory;
  vk::DeviceSize offset = 0;
  vk::DeviceSize size = 0;
  std::byte* mapped = nullptr;  ///< host pointer to offset, or null when not host-visible
  std::size_t block = 0;
};

class MemoryAllocator {
 public:
  /// `limit`: most bytes reserved from the driver at once (0: no limit), see ContextOptions::memory_limit.
  MemoryAllocator(const vk::raii::Device& device, const vk::raii::PhysicalDevice& physical, bool unified,
                  uint64_t limit = 0);
  ~MemoryAllocator();
  MemoryAllocator(const MemoryAllocator&) = delete;
  MemoryAllocator& operator=(const MemoryAllocator&) = delete;

  /// Throws OutOfMemoryError when the device refuses or the limit would be exceeded; the allocator
  /// stays usable.
  Allocation allocate(const vk::MemoryRequirements& requirements, MemoryUsage usage);
  void free(const Allocation& allocation) noexcept;

  uint64_t allocated_bytes() const;
  uint64_t reserved_bytes() const;
  uint64_t limit() const { return limit_; }

 private:
  struct Block {
    vk::raii::DeviceMemory memory{nullptr};
    vk::DeviceSize size = 0;
    uint32_t type_index = 0;
    std::byte* mapped = nullptr;
    bool dedicated = false;
    vk::DeviceSize used = 0;
    std::map<vk::DeviceSize, vk::DeviceSize> free_ranges;  ///< offset -> length, coalesced
  };

  uint32_t choose_type(uint32_t type_bits, MemoryUsage usage) const;
  std::size_t new_block(vk::DeviceSize size, uint32_t type_index, bool dedicated, bool mapped);

  const vk::raii::Device& device_;
  vk::PhysicalDeviceMemoryProperties props_;
  bool unified_;
  bool device_mapped_ = false;  ///< tensors (MemoryUsage::device) are host-visible and mapped
  vk::DeviceSize block_size_;
  uint64_t limit_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Block>> blocks_;  ///< null entries are released blocks
  uint64_t allocated_ = 0;
  uint64_t reserved_ = 0;
};

/// A VkBuffer bound to a sub-allocated range, or a range of an application's VkBuffer. Shared
/// between the Tensor that owns it and the command lists that use it, so it lives until the last of
/// them lets go.
struct Buffer {
  Buffer(std::shared_ptr<ContextImpl> context, vk::DeviceSize bytes, MemoryUsage usage);
  /// `bytes` at `offset` of the application's `external` buffer, of which vkgrad may use `range`
  /// bytes (>= bytes); neither the buffer nor its memory is vkgrad's to destroy or free.
  Buffer(std::shared_ptr<ContextImpl> context, vk::Buffer external, vk::DeviceSize offset, vk::DeviceSize bytes,
         vk::DeviceSize range, vk::BufferUsageFlags usage);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  /// Whether the whole buffer can be read as texels of 4 elements of `type`: R32G32B32A32_SFLOAT
  /// (f32 and the other 4-byte types) or R16G16B16A16_SFLOAT (f16, where the device supports it;
  /// never for u8). Its VkBuffer size is then a whole number of texels (the last, partial group of
  /// 4 elements is readable too) within the device's texel-count limit.
  /// With `raw`: as R32G32B32A32_UINT texels (the bits of any dtype, 16 bytes per texel).
  bool texel_readable(DType type = DType::f32, bool raw = false) const;
  /// The view of the whole buffer texel_readable(type, raw) describes, created on first use.
  vk::BufferView texel_view(DType type = DType::f32, bool raw = false);
  /// The VkBuffer the data is in (vkgrad's own or the application's).
  vk::Buffer handle() const { return handle_; }
  /// The bytes vkCmdFillBuffer sets to fill the tensor: from offset, the whole buffer for
  /// vkgrad's own, the data rounded up to 4 bytes for the application's.
  vk::DeviceSize fill_size() const;
  /// Throws InvalidArgument, for `what` ("upload", "fill", ...), when the buffer lacks the
  /// transfer usage (`dst`: TRANSFER_DST, else TRANSFER_SRC) the operation needs.
  void require_transfer(bool dst, const char* what) const;

  std::shared_ptr<ContextImpl> context;
  vk::raii::Buffer buffer{nullptr};
  Allocation allocation;
  vk::DeviceSize size = 0;     ///< bytes requested
  vk::DeviceSize vk_size = 0;  ///< bytes bound from offset: for vkgrad's own VkBuffer its size, `size`
                               ///< rounded up to 16 (to 4 where 16 would exceed the storage-buffer
                               ///< range); for the application's, the range it gave
  vk::DeviceSize offset = 0;   ///< where the data starts in handle() (0 for vkgrad's own)
  vk::BufferUsageFlags usage;  ///< the VkBuffer's usage flags
  bool external = false;       ///< the application's buffer

 private:
  vk::Buffer handle_;
  std::mutex view_mutex_;
  vk::raii::BufferView texel_view_{nullptr};       // R32G32B32A32_SFLOAT
  vk::raii::BufferView half_texel_view_{nullptr};  // R16G16B16A16_SFLOAT
  vk::raii::BufferView raw_texel_view_{nullptr};   // R32G32B32A32_UINT
};

/// The 32-bit pattern vkCmdFillBuffer repeats to set every element of a `type` tensor to `value`
/// (f32 keeps the bit pattern, so NaN payloads survive).
uint32_t fill_pattern(DType type, float value);

}  // namespace vkgrad::detail
