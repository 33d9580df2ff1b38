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

#include "../shaders/shared_sizes.h"
#include "memory.hpp"
#include "pipeline.hpp"
#include "platform.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/interop.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

/// Faults a test can make the queue simulate (see inject_fault). Each behaves as if the driver had
/// returned the error, so the library's own error paths run.
enum class Fault : uint8_t {
  none,
  submit_error,           ///< vkQueueSubmit fails with the given result; nothing reaches the queue
  device_lost_on_submit,  ///< vkQueueSubmit returns VK_ERROR_DEVICE_LOST; nothing reaches the queue
  device_lost_on_wait,    ///< the submission runs, but the next fence or queue wait returns VK_ERROR_DEVICE_LOST
};

/// A vk::raii handle that may be the application's (a context over an ExternalDevice): then it is
/// released, never destroyed, when it goes.
template <class Handle>
struct MaybeOwned : Handle {
  using Handle::Handle;
  MaybeOwned& operator=(Handle&& handle) noexcept {
    Handle::operator=(std::move(handle));
    return *this;
  }
  ~MaybeOwned() {
    if (!owned) (void)this->release();
  }
  bool owned = true;
};

/// The application's semaphores of a SubmitSync, in the form a VkSubmitInfo points to (lib/interop.cpp).
struct SemaphoreSubmission {
  /// Points `submit` at sync's semaphores: waited for at the compute-shader and transfer stages (where
  /// a list's first commands run), with timeline values chained only when there are any (a device
  /// without timeline semaphores rejects the chain). This object must outlive the submission call.
  void attach(vk::SubmitInfo& submit, const SubmitSync& sync);

  std::vector<vk::Semaphore> waits, signals;
  std::vector<uint64_t> wait_values, signal_values;
  std::vector<vk::PipelineStageFlags> wait_stages;
  vk::TimelineSemaphoreSubmitInfo timeline;
};

struct ContextImpl {
  explicit ContextImpl(const ContextOptions& options);
  /// Over the application's device (lib/interop.cpp); see Context(const ExternalDevice&, ...).
  ContextImpl(const ExternalDevice& external, const ContextOptions& options);
  ~ContextImpl();
  ContextImpl(const ContextImpl&) = delete;
  ContextImpl& operator=(const ContextImpl&) = delete;

  /// Throws DeviceLostError once the device has been lost.
  void check_usable() const;
  /// Submits under the queue lock; a lost device marks the context unusable and throws. With
  /// `sync`: waiting on and signalling its semaphores, and signalling its fence afterwards.
  void submit(vk::CommandBuffer cb, vk::Fence fence, const SubmitSync* sync = nullptr);
  /// Runs `use` (a call on the queue) under the queue lock and the application's queue_access.
  void with_queue(const std::function<void()>& use);
  /// Waits for a fence; a lost device marks the context unusable and throws.
  void wait(vk::Fence fence);
  /// Waits until the queue has finished all submitted work.
  void wait_queue_idle();
  /// Waits for a submitted fence, ignoring errors and a lost device, so that its work is finished
  /// before its resources are destroyed. Vulkan guarantees this returns even after a device loss;
  /// never call it for a fence that was not submitted.
  void wait_unchecked(vk::Fence fence) noexcept;
  /// Records a one-shot command buffer with `record`, submits it and waits (uploads, downloads).
  void run_once(const std::function<void(vk::raii::CommandBuffer&)>& record);
  /// A host-visible buffer of at least `bytes` for staged transfers; valid while transfer_mutex is held.
  Buffer& staging(vk::DeviceSize bytes);

  void on_validation_message(std::string message);
  /// Creates `messenger` on `instance`, reporting to on_validation_message.
  void create_messenger();
  /// What both constructors do once the device and queue are there: the allocator, the pipeline
  /// cache and the transfer pool and fence.
  void create_resources(const ContextOptions& options, uint64_t memory_limit);

  // Declaration order is destruction order reversed: the device goes after everything made from it.
  // Validation state first: the layer may still report while the instance is destroyed.
  bool validation = false;
  /// The kernel set and what it implies (resolve_kernels, from ContextOptions and VKGRAD_KERNELS).
  KernelChoice kernels;
  mutable std::mutex messages_mutex;
  std::vector<std::string> messages;
  std::function<void(std::string_view)> message_callback;

  vk::raii::Context loader;
  MaybeOwned<vk::raii::Instance> instance{nullptr};
  vk::raii::DebugUtilsMessengerEXT messenger{nullptr};
  vk::raii::PhysicalDevice physical{nullptr};
  DeviceInfo info;
  MaybeOwned<vk::raii::Device> device{nullptr};
  vk::raii::Queue queue{nullptr};
  uint32_t queue_family = 0;
  std::mutex queue_mutex;
  /// ExternalDevice::queue_access (empty for vkgrad's own device).
  std::function<void(const std::function<void()>&)> queue_access;
  std::unique_ptr<MemoryAllocator> allocator;
  std::unique_ptr<PipelineCache> pipelines;

  std::mutex transfer_mutex;  ///< guards the one-shot pool/fence and the staging buffer
  vk::raii::CommandPool transfer_pool{nullptr};
  vk::raii::Fence transfer_fence{nullptr};
  std::shared_ptr<Buffer> staging_buffer;

  std::atomic<bool> lost{false};

  // Test hook state (inject_fault); guarded by queue_mutex except lose_on_wait.
  Fault fault = Fault::none;
  vk::Result fault_result = vk::Result::eErrorUnknown;
  uint32_t fault_after = 0;  ///< submissions that still succeed before the fault fires
  std::atomic<bool> lose_on_wait{false};
  std::weak_ptr<ContextImpl> self;  ///< set by Context, for buffers created internally
};

/// The Vulkan loader, opened at run time (the first of `names` that opens, platform::open_vulkan_loader);
/// SetupError naming each file tried and saying what to install when none opens.
vk::raii::Context open_loader(std::span<const char* const> names = platform::vulkan_loader_names());
/// A Vulkan instance and what was enabled on it.
struct InstanceSetup {
  vk::raii::Instance instance{nullptr};
  bool portability = false;        ///< VK_KHR_portability_enumeration is enabled
  uint32_t api_version = 0;        ///< the instance's apiVersion
  bool fast_math_setting = false;  ///< MVK_CONFIG_FAST_MATH_ENABLED = 0 went to MoltenVK as a layer setting
};
/// Creates the instance on `loader` (Vulkan 1.1 or newer, else SetupError): with the Khronos
/// validation layer and synchronization validation when `validation` (SetupError when the layer is
/// missing), its messages going to `messages_to`; fast_math_off: where the loader offers
/// VK_EXT_layer_settings, MoltenVK is told not to compile with Metal's fast math.
InstanceSetup create_instance(const vk::raii::Context& loader, bool validation, ContextImpl* messages_to,
                              bool fast_math_off);
/// ContextOptions::validation, else VKGRAD_VALIDATION.
bool validation_requested(const ContextOptions& options);
/// ContextOptions::memory_limit, else VKGRAD_MEMORY_LIMIT (throws SetupError when malformed).
uint64_t memory_limit_option(const ContextOptions& options);

/// Test hook: after `after` more successful submissions, the next one fails as `fault` describes,
/// with `result` for Fault::submit_error (e.g. VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_UNKNOWN). A
/// fault fires once; Fault::none disarms a pending one.
void inject_fault(ContextImpl& context, Fault fault, vk::Result result = vk::Result::eErrorUnknown, uint32_t after = 0);

/// The kernel set `options` (else VKGRAD_KERNELS, else the device's type) selects on `info`, with
/// the finer overrides applied and each choice limited to what the device supports, and whether the
/// modules keep their SignedZeroInfNanPreserve declaration (ContextOptions::preserve_inf_nan, else
/// VKGRAD_PRESERVE_INF_NAN; only where the device has the property and, on an instance of
/// `instance_api_version`, the capability can be enabled). Throws SetupError for a VKGRAD_KERNELS
/// value that is not auto, gpu or cpu.
KernelChoice resolve_kernels(const ContextOptions& options, const DeviceInfo& info,
                             uint32_t instance_api_version = VK_API_VERSION_1_3);

/// The capacity of the shaders' one-element-per-invocation shared arrays (shaders/shared_sizes.h): a
/// kernel with such an array runs with at most this many invocations per workgroup.
inline constexpr uint32_t kMaxLocalSize = VKGRAD_MAX_LOCAL_SIZE;

/// The default local workgroup size for 1-D kernels on this device: the device's limit, at most
/// kMaxLocalSize, so any kernel with shared arrays can run with it (or with less).
uint32_t default_local_size(const DeviceInfo& info);
/// The most workgroups a launcher puts in dimension `dim` (0..2) of one dispatch: the device's
/// maxComputeWorkGroupCount, and at most 65535 (the Vulkan minimum, the y and z limit of many GPUs).
/// Kernels whose work grows with the problem loop over it in strides of the grid they get, so a
/// problem of any size runs within this many.
uint32_t max_workgroups(const DeviceInfo& info, int dim);
/// `groups` workgroups, or max_workgroups(info, dim) where that is fewer (at least 1).
uint32_t capped_workgroups(const DeviceInfo& info, int dim, uint64_t groups);
/// Workgroups for a grid-stride loop over n elements with `local` threads each, within the device's
/// workgroup-count limit. With the cpu kernel set, up to cpu_steps loop steps per invocation
/// (cpu::grid_groups): a CPU driver runs a loop body at least once even with every lane masked off
/// and pays a setup per workgroup, so several steps per invocation amortise both.
uint32_t grid_stride_groups(const ContextImpl& context, uint64_t n, uint32_t local, uint32_t cpu_steps = 1);
/// grid_stride_groups for a kernel with one invocation per group of 4 elements (the last group may
/// be partial): cpu_steps counts groups of 4 per invocation.
inline uint32_t quad_grid_stride_groups(const ContextImpl& context, uint64_t n, uint32_t local,
                                        uint32_t cpu_steps = 1) {
  return grid_stride_groups(context, (n + 3) / 4, local, cpu_steps);
}

}  // namespace vkgrad::detail
