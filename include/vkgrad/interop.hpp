/// \file
/// vkgrad inside an application that runs Vulkan itself: a Context over the application's device
/// and queue, tensors over the application's buffers, and command lists ordered with the
/// application's work by its semaphores and fences or recorded into its own command buffers.
///
/// The public headers do not include vulkan.h. Dispatchable handles (VkInstance, VkPhysicalDevice,
/// VkDevice, VkCommandBuffer) are taken as the pointer types vulkan.h defines them as, so they pass
/// as they are; non-dispatchable ones (VkBuffer, VkSemaphore, VkFence) as their 64 bits, which
/// vk_handle() and vk_handle_cast() convert to and from (for the C handles and Vulkan-Hpp's).
///
/// Ownership: nothing of the application's is destroyed or freed by vkgrad. What vkgrad creates on
/// the application's device (memory, buffers, pipelines, descriptor and command pools, fences, the
/// validation messenger) is destroyed with the Context, its tensors and its command lists.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

// The dispatchable handle types as vulkan.h declares them (VkInstance is VkInstance_T*, ...).
struct VkInstance_T;
struct VkPhysicalDevice_T;
struct VkDevice_T;
struct VkCommandBuffer_T;

namespace vkgrad {

/// PFN_vkGetInstanceProcAddr, spelt without vulkan.h (the same type where VKAPI_PTR is empty, i.e.
/// everywhere but 32-bit Windows).
using GetInstanceProcAddr = void (*(*)(VkInstance_T*, const char*))();

/// The 64 bits of a non-dispatchable Vulkan handle: a C handle (VkBuffer, VkSemaphore, VkFence) or
/// a Vulkan-Hpp one (vk::Buffer, ...). VK_NULL_HANDLE is 0.
template <class Handle>
uint64_t vk_handle(Handle handle) {
  if constexpr (requires { typename Handle::CType; }) {
    return vk_handle(static_cast<typename Handle::CType>(handle));
  } else if constexpr (std::is_pointer_v<Handle>) {
    return static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(handle));
  } else {
    return static_cast<uint64_t>(handle);
  }
}

/// The C handle (VkBuffer, ...) whose bits are `bits`: the inverse of vk_handle.
template <class Handle>
Handle vk_handle_cast(uint64_t bits) {
  if constexpr (std::is_pointer_v<Handle>) {
    return reinterpret_cast<Handle>(static_cast<std::uintptr_t>(bits));
  } else {
    return static_cast<Handle>(bits);
  }
}

/// VK_MAKE_API_VERSION(0, 1, 1, 0).
inline constexpr uint32_t vulkan_1_1 = (1u << 22) | (1u << 12);

/// The application's Vulkan objects a Context runs on (Context(const ExternalDevice&, ...)).
///
/// What vkgrad needs of them, checked at construction (SetupError names what is missing and what
/// to enable):
///  - instance and physical device of Vulkan 1.1 or newer (instance_api_version, the apiVersion of
///    the instance's VkApplicationInfo, and the device's apiVersion);
///  - a queue of a family with VK_QUEUE_COMPUTE_BIT (InvalidArgument otherwise);
///  - VK_KHR_portability_subset enabled where the device offers it (the Vulkan specification requires
///    it);
///  - with ContextOptions::validation = true: VK_EXT_debug_utils enabled on the instance (and
///    VK_LAYER_KHRONOS_validation, for there to be anything to report). Validation is the
///    application's to enable on its instance: vkgrad then receives the layer's messages
///    (Context::validation_messages, ContextOptions::on_validation_message); VKGRAD_VALIDATION=1
///    does so where the instance has VK_EXT_debug_utils, and is ignored where it has not.
/// What vkgrad uses where it is enabled, and does without otherwise:
///  - shaderInt64: the texel-load kernels (KernelChoice::texel_loads) need it; without it the
///    storage-buffer kernels run;
///  - VK_KHR_shader_float_controls (or Vulkan 1.2 on instance and device): NaN / inf preservation
///    (KernelChoice::preserve_inf_nan); without it, preservation is "not guaranteed".
/// Subgroup operations are core Vulkan 1.1 properties and need nothing enabled.
struct ExternalDevice {
  VkInstance_T* instance = nullptr;               ///< VkInstance
  VkPhysicalDevice_T* physical_device = nullptr;  ///< VkPhysicalDevice, one of instance's
  VkDevice_T* device = nullptr;                   ///< VkDevice created on physical_device
  uint32_t queue_family = 0;                      ///< family of the queue vkgrad submits to (must have compute)
  uint32_t queue_index = 0;                       ///< index of that queue in its family
  /// The loader's vkGetInstanceProcAddr (the one the application created the instance with).
  GetInstanceProcAddr get_instance_proc_addr = nullptr;
  /// VkApplicationInfo::apiVersion the instance was created with (VK_API_VERSION_1_x).
  uint32_t instance_api_version = vulkan_1_1;
  /// The device extensions enabled at vkCreateDevice (Vulkan cannot be asked afterwards).
  std::vector<std::string> enabled_extensions;
  /// VkPhysicalDeviceFeatures::shaderInt64 was enabled at vkCreateDevice.
  bool shader_int64 = false;
  /// Queue access is the application's to serialise (vkQueueSubmit and vkQueueWaitIdle need the
  /// queue externally synchronised). When set, vkgrad calls it around every use of the queue, with
  /// a function that makes the call: it must run that function once, while holding whatever lock the
  /// application uses for the queue, and return (it may throw; the error reaches vkgrad's caller).
  /// Unset: vkgrad uses the queue from the threads that call it, serialised only among vkgrad's own
  /// calls, so the application must not use the queue at the same time.
  std::function<void(const std::function<void()>& use_queue)> queue_access;
};

/// VkBufferUsageFlagBits vkgrad checks in VulkanBuffer::usage (the values vulkan.h gives them).
namespace buffer_usage {
/// VK_BUFFER_USAGE_TRANSFER_SRC_BIT: Tensor::download and CommandList::copy from the tensor.
inline constexpr uint32_t transfer_src = 0x1;
/// VK_BUFFER_USAGE_TRANSFER_DST_BIT: upload, fill and copy into the tensor.
inline constexpr uint32_t transfer_dst = 0x2;
/// VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT: the texel-load kernels may read the tensor.
inline constexpr uint32_t uniform_texel = 0x4;
/// VK_BUFFER_USAGE_STORAGE_BUFFER_BIT: required of every buffer a tensor wraps.
inline constexpr uint32_t storage = 0x20;
}  // namespace buffer_usage

/// A range of a VkBuffer: what Tensor::wrap makes a tensor over, and what Tensor::vulkan_buffer
/// says a tensor lives in.
struct VulkanBuffer {
  uint64_t buffer = 0;  ///< the VkBuffer (vk_handle(buffer))
  uint64_t offset = 0;  ///< where the tensor's first element is, in bytes
  uint64_t size = 0;    ///< bytes from offset that vkgrad may read and write
  /// VkBufferUsageFlags the buffer was created with (Vulkan cannot be asked afterwards); see
  /// buffer_usage for the bits vkgrad looks at.
  uint32_t usage = 0;
};

/// A semaphore a submission waits on or signals.
struct SemaphoreSubmit {
  uint64_t semaphore = 0;  ///< the VkSemaphore (vk_handle(semaphore))
  /// For a timeline semaphore, the value waited for or signalled; 0 for a binary semaphore.
  uint64_t value = 0;
};

/// How CommandList::submit(const SubmitSync&) is ordered with the application's work.
struct SubmitSync {
  /// Semaphores the list's commands wait for, at the compute-shader and transfer stages (where its
  /// first commands read and write).
  std::vector<SemaphoreSubmit> wait;
  /// Semaphores signalled once the list's commands have completed.
  std::vector<SemaphoreSubmit> signal;
  /// A VkFence (vk_handle(fence), unsignalled) signalled once the list's commands, and everything
  /// submitted to the queue before them, have completed; 0 for none.
  uint64_t fence = 0;
};

}  // namespace vkgrad
