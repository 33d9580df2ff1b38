#include "memory.hpp"

#include <algorithm>

#include "context_impl.hpp"
#include "errors.hpp"

namespace vkgrad::detail {

namespace {
constexpr vk::DeviceSize kDefaultBlockSize = 64ull << 20;

vk::DeviceSize align_up(vk::DeviceSize value, vk::DeviceSize alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
}  // namespace

MemoryAllocator::MemoryAllocator(const vk::raii::Device& device, const vk::raii::PhysicalDevice& physical, bool unified,
                                 uint64_t limit)
    : device_(device), props_(physical.getMemoryProperties()), unified_(unified), limit_(limit) {
  // A block is at most 1/8 of the smallest device-local heap (or of the memory limit), so small
  // devices are not swamped and one block never takes the whole limit from staging buffers.
  vk::DeviceSize smallest_heap = ~vk::DeviceSize(0);
  for (uint32_t i = 0; i < props_.memoryHeapCount; ++i) {
    if (props_.memoryHeaps[i].flags & vk::MemoryHeapFlagBits::eDeviceLocal) {
      smallest_heap = std::min(smallest_heap, props_.memoryHeaps[i].size);
    }
  }
  if (limit_ != 0) smallest_heap = std::min<vk::DeviceSize>(smallest_heap, limit_);
  block_size_ = std::clamp<vk::DeviceSize>(smallest_heap / 8, 1ull << 20, kDefaultBlockSize);
  const uint32_t t = choose_type(~0u, MemoryUsage::device);
  device_mapped_ = unified_ && bool(props_.memoryTypes[t].propertyFlags & vk::MemoryPropertyFlagBits::eHostVisible);
}

MemoryAllocator::~MemoryAllocator() = default;

uint32_t MemoryAllocator::choose_type(uint32_t type_bits, MemoryUsage usage) const {
  using F = vk::MemoryPropertyFlagBits;
  std::vector<vk::MemoryPropertyFlags> wanted;
  if (usage == MemoryUsage::device) {
    if (unified_) wanted.push_back(F::eDeviceLocal | F::eHostVisible | F::eHostCoherent);
    wanted.push_back(F::eDeviceLocal);
    wanted.push_back({});
  } else {
    wanted.push_back(F::eHostVisible | F::eHostCoherent | F::eHostCached);
    wanted.push_back(F::eHostVisible | F::eHostCoherent);
  }
  for (const auto& flags : wanted) {
    for (uint32_t i = 0; i < props_.memoryTypeCount; ++i) {
      if ((type_bits & (1u << i)) && (props_.memoryTypes[i].propertyFlags & flags) == flags) return i;
    }
  }
  throw UnsupportedError("vkgrad: the device has no memory type suitable for " +
                         std::string(usage == MemoryUsage::device ? "tensors" : "staging buffers"));
}

std::size_t MemoryAllocator::new_block(vk::DeviceSize size, uint32_t type_index, bool dedicated, bool mapped) {
  if (limit_ != 0 && size > limit_ - std::min<uint64_t>(reserved_, limit_)) {
    throw OutOfMemoryError("vkgrad: allocating " + format_bytes(size) +
                               " of device memory would exceed the memory limit of " + format_bytes(limit_) +
                               " (ContextOptions::memory_limit or VKGRAD_MEMORY_LIMIT; " + format_bytes(reserved_) +
                               " reserved, " + format_bytes(allocated_) +
                               " held by live tensors). Free tensors or command lists, use smaller batches or "
                               "layers, or raise the limit.",
                           static_cast<int>(vk::Result::eErrorOutOfDeviceMemory));
  }
  auto block = std::make_unique<Block>();
  block->memory = vk_call(
      "allocating " + format_bytes(size) + " of device memory (" + format_bytes(allocated_) + " held by live tensors)",
      [&] { return device_.allocateMemory(vk::MemoryAllocateInfo(size, type_index)); });
  block->size = size;
  block->type_index = type_index;
  block->dedicated = dedicated;
  block->free_ranges.emplace(0, size);
  const auto flags = props_.memoryTypes[type_index].propertyFlags;
  if (mapped && (flags & vk::MemoryPropertyFlagBits::eHostVisible) &&
      (flags & vk::MemoryPropertyFlagBits::eHostCoherent)) {
    block->mapped = static_cast<std::byte*>(
        vk_call("mapping device memory", [&] { return block->memory.mapMemory(0, VK_WHOLE_SIZE); }));
  }
  reserved_ += size;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    if (!blocks_[i]) {
      blocks_[i] = std::move(block);
      return i;
    }
  }
  blocks_.push_back(std::move(block));
  return blocks_.size() - 1;
}

Allocation MemoryAllocator::allocate(const vk::MemoryRequirements& req, MemoryUsage usage) {
  std::lock_guard lock(mutex_);
  const uint32_t type = choose_type(req.memoryTypeBits, usage);
  const vk::DeviceSize alignment = std::max<vk::DeviceSize>(req.alignment, 16);
  const vk::DeviceSize size = align_up(req.size, 16);

  auto carve = [&](std::size_t index) -> std::optional<Allocation> {
    Block& b = *blocks_[index];
    for (auto it = b.free_ranges.begin(); it != b.free_ranges.end(); ++it) {
      const vk::DeviceSize start = it->first, length = it->second;
      const vk::DeviceSize offset = align_up(start, alignment);
      if (offset + size > start + length) continue;
      b.free_ranges.erase(it);
      if (offset > start) b.free_ranges.emplace(start, offset - start);
      if (offset + size < start + length) b.free_ranges.emplace(offset + size, start + length - offset - size);
      b.used += size;
      allocated_ += size;
      return Allocation{*b.memory, offset, size, b.mapped ? b.mapped + offset : nullptr, index};
    }
    return std::nullopt;
  };

  // Tensors are mapped only on unified-memory devices; elsewhere they are written through staging
  // buffers even where a host-visible device-local type exists (reads through it are slow).
  const bool mapped = usage == MemoryUsage::staging || device_mapped_;
  if (size <= block_size_ / 2) {
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const auto& b = blocks_[i];
      if (b && !b->dedicated && b->type_index == type && (b->mapped != nullptr) == mapped) {
        if (auto a = carve(i)) return *a;
      }
    }
    // Under a memory limit the last shared block shrinks to what the limit leaves (new_block refuses
    // when even `size` does not fit), so the whole limit is usable.
    vk::DeviceSize block = block_size_;
    if (limit_ != 0) {
      block = std::max(size, std::min<vk::DeviceSize>(block, limit_ - std::min<uint64_t>(reserved_, limit_)));
    }
    std::size_t index;
    try {
      index = new_block(block, type, false, mapped);
    } catch (const OutOfMemoryError&) {
      // Near the end of device memory a whole block may no longer fit where this tensor still does.
      if (block == size) throw;
      index = new_block(size, type, true, mapped);
    }
    return *carve(index);
  }
  return *carve(new_block(size, type, true, mapped));
}

void MemoryAllocator::free(const Allocation& a) noexcept {
  if (a.size == 0) return;
  std::lock_guard lock(mutex_);
  Block& b = *blocks_.at(a.block);
  auto [it, inserted] = b.free_ranges.emplace(a.offset, a.size);
  // Coalesce with the following and the preceding free range.
  auto next = std::next(it);
  if (next != b.free_ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    b.free_ranges.erase(next);
  }
  if (it != b.free_ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      b.free_ranges.erase(it);
    }
  }
  b.used -= a.size;
  allocated_ -= a.size;
  if (b.used == 0) {
    // Keep one empty shared block around for reuse; release dedicated and further empty blocks so
    // memory use follows the live tensors.
    bool another_empty = false;
    for (const auto& other : blocks_) {
      if (other && other.get() != &b && !other->dedicated && other->used == 0 && other->type_index == b.type_index &&
          (other->mapped != nullptr) == (b.mapped != nullptr)) {
        another_empty = true;
      }
    }
    if (b.dedicated || another_empty) {
      reserved_ -= b.size;
      blocks_[a.block].reset();
    }
  }
}

uint64_t MemoryAllocator::allocated_bytes() const {
  std::lock_guard lock(mutex_);
  return allocated_;
}

uint64_t MemoryAllocator::reserved_bytes() const {
  std::lock_guard lock(mutex_);
  return reserved_;
}

Buffer::Buffer(std::shared_ptr<ContextImpl> ctx, vk::DeviceSize bytes, MemoryUsage usage)
    : context(std::move(ctx)), size(bytes) {
  using U = vk::BufferUsageFlagBits;
  // Whole 16-byte groups where the storage-buffer range allows, so that texel-load shaders can read
  // the last partial group of 4 floats through the R32G32B32A32_SFLOAT view (the padding is never
  // stored to).
  vk::DeviceSize rounded = align_up(std::max<vk::DeviceSize>(bytes, 4), 16);
  if (rounded > context->info.max_storage_buffer_range) rounded = align_up(std::max<vk::DeviceSize>(bytes, 4), 4);
  vk_size = rounded;
  vk::BufferUsageFlags flags = U::eStorageBuffer | U::eTransferSrc | U::eTransferDst;
  if (usage == MemoryUsage::device && context->kernels.texel_loads) flags |= U::eUniformTexelBuffer;
  buffer = vk_call("creating a buffer of " + format_bytes(rounded),
                   [&] { return context->device.createBuffer(vk::BufferCreateInfo({}, rounded, flags)); });
  allocation = context->allocator->allocate(buffer.getMemoryRequirements(), usage);
  vk_call("binding buffer memory", [&] { buffer.bindMemory(allocation.memory, allocation.offset); });
  handle_ = *buffer;
  this->usage = flags;
}

Buffer::Buffer(std::shared_ptr<ContextImpl> ctx, vk::Buffer external_buffer, vk::DeviceSize start, vk::DeviceSize bytes,
               vk::DeviceSize range, vk::BufferUsageFlags flags)
    : context(std::move(ctx)),
      size(bytes),
      vk_size(range),
      offset(start),
      usage(flags),
      external(true),
      handle_(external_buffer) {}

vk::DeviceSize Buffer::fill_size() const { return external ? align_up(size, 4) : VK_WHOLE_SIZE; }

void Buffer::require_transfer(bool dst, const char* what) const {
  const auto needed = dst ? vk::BufferUsageFlagBits::eTransferDst : vk::BufferUsageFlagBits::eTransferSrc;
  if (usage & needed) return;
  throw InvalidArgument(std::string("vkgrad: ") + what + ": the tensor wraps an application's buffer without " +
                        (dst ? "VK_BUFFER_USAGE_TRANSFER_DST_BIT" : "VK_BUFFER_USAGE_TRANSFER_SRC_BIT") +
                        " (VulkanBuffer::usage); create the buffer with it, or write it in the application's "
                        "own commands");
}

bool Buffer::texel_readable(DType type, bool raw) const {
  if (!context->kernels.texel_loads || !(usage & vk::BufferUsageFlagBits::eUniformTexelBuffer)) return false;
  if (offset % std::max<vk::DeviceSize>(context->info.min_texel_buffer_offset_alignment, 1) != 0) return false;
  if (raw ? !context->info.texel_buffer_rgba32ui : type == DType::u8) return false;
  if (!raw && type == DType::f16 && !context->info.texel_buffer_rgba16f) return false;
  const vk::DeviceSize texel_bytes = raw ? 16 : 4 * dtype_size(type);
  return vk_size % texel_bytes == 0 && vk_size / texel_bytes <= context->info.max_texel_buffer_elements;
}

vk::BufferView Buffer::texel_view(DType type, bool raw) {
  const bool f16 = !raw && type == DType::f16;
  std::lock_guard lock(view_mutex_);
  vk::raii::BufferView& view = raw ? raw_texel_view_ : f16 ? half_texel_view_ : texel_view_;
  const vk::Format format = raw   ? vk::Format::eR32G32B32A32Uint
                            : f16 ? vk::Format::eR16G16B16A16Sfloat
                                  : vk::Format::eR32G32B32A32Sfloat;
  if (!*view) {
    view = vk_call("creating a texel-buffer view of " + format_bytes(vk_size), [&] {
      return context->device.createBufferView(vk::BufferViewCreateInfo({}, handle_, format, offset, vk_size));
    });
  }
  return *view;
}

Buffer::~Buffer() {
  raw_texel_view_.clear();
  half_texel_view_.clear();
  texel_view_.clear();
  buffer.clear();  // the VkBuffer goes before its memory range is handed out again
  context->allocator->free(allocation);
}

}  // namespace vkgrad::detail
