// What a Context holds. Tensors, buffers and command lists keep a shared_ptr to it, so the device
// outlives everything created on it.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "memory.hpp"
#include "pipeline.hpp"
#include "vkgrad/context.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

struct ContextImpl {
  explicit ContextImpl(const ContextOptions& options);
  ~ContextImpl();
  ContextImpl(const ContextImpl&) = delete;
  ContextImpl& operator=(const ContextImpl&) = delete;

  /// Throws DeviceLostError once the device has been lost.
  void check_usable() const;
  /// Submits under the queue lock; a lost device marks the context unusable and throws.
  void submit(vk::CommandBuffer cb, vk::Fence fence);
  /// Waits for a fence; a lost device marks the context unusable and throws.
  void wait(vk::Fence fence);
  /// Waits until the queue has finished all submitted work.
  void wait_queue_idle();
  /// Records a one-shot command buffer with `record`, submits it and waits (uploads, downloads).
  void run_once(const std::function<void(vk::raii::CommandBuffer&)>& record);
  /// A host-visible buffer of at least `bytes` for staged transfers; valid while transfer_mutex is held.
  Buffer& staging(vk::DeviceSize bytes);

  void on_validation_message(std::string message);

  // Declaration order is destruction order reversed: the device goes after everything made from it.
  // Validation state first: the layer may still report while the instance is destroyed.
  bool validation = false;
  /// Reductions use the <shader>_subgroup variants (see ContextOptions::subgroup_reductions).
  bool use_subgroup_reductions = false;
  /// Elementwise ops and GEMM use their <shader>_texel variants (see ContextOptions::texel_loads).
  bool use_texel_loads = false;
  mutable std::mutex messages_mutex;
  std::vector<std::string> messages;
  std::function<void(std::string_view)> message_callback;

  vk::raii::Context loader;
  vk::raii::Instance instance{nullptr};
  vk::raii::DebugUtilsMessengerEXT messenger{nullptr};
  vk::raii::PhysicalDevice physical{nullptr};
  DeviceInfo info;
  vk::raii::Device device{nullptr};
  vk::raii::Queue queue{nullptr};
  uint32_t queue_family = 0;
  std::mutex queue_mutex;
  std::unique_ptr<MemoryAllocator> allocator;
  std::unique_ptr<PipelineCache> pipelines;

  std::mutex transfer_mutex;  ///< guards the one-shot pool/fence and the staging buffer
  vk::raii::CommandPool transfer_pool{nullptr};
  vk::raii::Fence transfer_fence{nullptr};
  std::shared_ptr<Buffer> staging_buffer;

  std::atomic<bool> lost{false};
  std::weak_ptr<ContextImpl> self;  ///< set by Context, for buffers created internally
};

/// The default local workgroup size for 1-D kernels on this device.
uint32_t default_local_size(const DeviceInfo& info);
/// Workgroups for a grid-stride loop over n elements with `local` threads each.
uint32_t grid_stride_groups(const DeviceInfo& info, uint64_t n, uint32_t local);

}  // namespace vkgrad::detail
