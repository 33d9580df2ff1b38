// vkgrad on the application's Vulkan objects: a context over its device and queue (checked for
// what vkgrad needs), and tensors over ranges of its buffers.
#include "vkgrad/interop.hpp"

#include <algorithm>
#include <limits>

#include "context_impl.hpp"
#include "device_select.hpp"
#include "errors.hpp"

namespace vkgrad {
namespace detail {

namespace {

std::string api_version_text(uint32_t version) {
  return std::to_string(VK_API_VERSION_MAJOR(version)) + "." + std::to_string(VK_API_VERSION_MINOR(version));
}

// The loader the application created its instance with, once every handle is known to be there.
vk::raii::Context external_loader(const ExternalDevice& e) {
  const std::pair<bool, const char*> handles[] = {{e.instance != nullptr, "instance"},
                                                  {e.physical_device != nullptr, "physical_device"},
                                                  {e.device != nullptr, "device"},
                                                  {e.get_instance_proc_addr != nullptr, "get_instance_proc_addr"}};
  for (const auto& [present, name] : handles) {
    if (!present) {
      throw InvalidArgument(
          std::string("vkgrad: ExternalDevice::") + name +
          " is null; pass the application's handle (vkGetInstanceProcAddr for get_instance_proc_addr)");
    }
  }
  // The instance's functions come from the application's vkGetInstanceProcAddr (its loader, or a
  // layer in front of it), not from one vkgrad opens.
  return vk::raii::Context(reinterpret_cast<PFN_vkGetInstanceProcAddr>(e.get_instance_proc_addr));
}

bool extension_enabled(const ExternalDevice& e, const char* extension) {
  return std::find(e.enabled_extensions.begin(), e.enabled_extensions.end(), extension) != e.enabled_extensions.end();
}

// The queue family and index exist and the family has compute; fills in whether it has timestamps.
void check_external_queue(const ExternalDevice& e, const vk::raii::PhysicalDevice& physical, DeviceInfo& info) {
  const auto families = physical.getQueueFamilyProperties();
  std::string with_compute;
  for (uint32_t i = 0; i < families.size(); ++i) {
    if (families[i].queueFlags & vk::QueueFlagBits::eCompute)
      with_compute += (with_compute.empty() ? "" : ", ") + std::to_string(i);
  }
  const std::string hint =
      " (families with compute: " + (with_compute.empty() ? std::string("none") : with_compute) + ")";
  if (e.queue_family >= families.size()) {
    throw InvalidArgument("vkgrad: ExternalDevice::queue_family " + std::to_string(e.queue_family) +
                          " does not exist: " + info.name + " has " + std::to_string(families.size()) +
                          " queue families" + hint);
  }
  const auto& family = families[e.queue_family];
  if (!(family.queueFlags & vk::QueueFlagBits::eCompute)) {
    throw InvalidArgument("vkgrad: ExternalDevice::queue_family " + std::to_string(e.queue_family) +
                          " has no compute (VK_QUEUE_COMPUTE_BIT); pass a queue of a family with compute" + hint);
  }
  if (e.queue_index >= family.queueCount) {
    throw InvalidArgument("vkgrad: ExternalDevice::queue_index " + std::to_string(e.queue_index) +
                          " does not exist: family " + std::to_string(e.queue_family) + " has " +
                          std::to_string(family.queueCount) + " queues");
  }
  info.timestamps = family.timestampValidBits > 0 && info.timestamp_period_ns > 0;
}

}  // namespace

ContextImpl::ContextImpl(const ExternalDevice& e, const ContextOptions& options) : loader(external_loader(e)) {
  const uint64_t limit = memory_limit_option(options);
  message_callback = options.on_validation_message;
  queue_access = e.queue_access;
  instance = vk::raii::Instance(loader, e.instance);
  instance.owned = false;
  if (e.instance_api_version < VK_API_VERSION_1_1) {
    throw SetupError("vkgrad: the application's instance was created for Vulkan " +
                     api_version_text(e.instance_api_version) +
                     " (ExternalDevice::instance_api_version); vkgrad needs 1.1 or newer: create it with "
                     "VkApplicationInfo::apiVersion VK_API_VERSION_1_1 or later");
  }
  // Validation is the application's to enable on its instance; vkgrad reports what the layer says
  // where the instance has VK_EXT_debug_utils (only then does it give the messenger functions). An
  // explicit ContextOptions::validation insists on it; VKGRAD_VALIDATION=1 takes it where it is.
  const bool debug_utils = instance.getDispatcher()->vkCreateDebugUtilsMessengerEXT != nullptr;
  if (options.validation.value_or(false) && !debug_utils) {
    throw SetupError(
        "vkgrad: ContextOptions::validation was requested but the application's instance lacks VK_EXT_debug_utils: "
        "enable it (with the layer VK_LAYER_KHRONOS_validation) when creating the instance, or leave validation "
        "unset");
  }
  validation = validation_requested(options) && debug_utils;
  if (validation) create_messenger();

  // The physical device must be one of the instance's (its functions come from that instance).
  vk::raii::PhysicalDevices physical_devices(instance);
  auto found = std::find_if(physical_devices.begin(), physical_devices.end(), [&](const vk::raii::PhysicalDevice& pd) {
    return static_cast<VkPhysicalDevice>(*pd) == e.physical_device;
  });
  if (found == physical_devices.end()) {
    throw InvalidArgument(
        "vkgrad: ExternalDevice::physical_device is not one of ExternalDevice::instance's physical devices");
  }
  const auto index = static_cast<uint32_t>(found - physical_devices.begin());
  physical = std::move(*found);
  info = describe(physical, index);
  if (info.api_version < VK_API_VERSION_1_1) {
    throw SetupError("vkgrad: " + info.name + " supports only Vulkan " + api_version_text(info.api_version) +
                     "; vkgrad needs 1.1 or newer");
  }
  check_external_queue(e, physical, info);
  queue_family = e.queue_family;
  if (has_device_extension(physical, "VK_KHR_portability_subset") &&
      !extension_enabled(e, "VK_KHR_portability_subset")) {
    throw SetupError("vkgrad: " + info.name +
                     " offers VK_KHR_portability_subset, which the Vulkan specification requires to be enabled: "
                     "enable it at vkCreateDevice and list it in ExternalDevice::enabled_extensions");
  }

  // The kernels choose from what the application enabled: shaderInt64 for the texel-load kernels,
  // VK_KHR_shader_float_controls (below Vulkan 1.2) for NaN / inf preservation.
  DeviceInfo usable = info;
  usable.shader_int64 = info.shader_int64 && e.shader_int64;
  usable.float_controls_extension =
      info.float_controls_extension && extension_enabled(e, "VK_KHR_shader_float_controls");
  kernels = resolve_kernels(options, usable, e.instance_api_version);
  if (!kernels.preserve_inf_nan && info.float_controls_extension && !usable.float_controls_extension &&
      info.signed_zero_inf_nan_preserve && std::min(e.instance_api_version, info.api_version) < VK_API_VERSION_1_2 &&
      resolve_kernels(options, info, e.instance_api_version).preserve_inf_nan) {
    kernels.preserve_inf_nan_reason =
        "not guaranteed: the application's device was created without VK_KHR_shader_float_controls (enable it, or "
        "create instance and device for Vulkan 1.2)";
  }

  if (info.driver_id == static_cast<uint32_t>(vk::DriverId::eMoltenvk)) {
    kernels.fast_math =
        "as the application configured MoltenVK (MVK_CONFIG_FAST_MATH_ENABLED, or VK_EXT_layer_settings "
        "on its instance): turn it off to keep NaN and inf";
  }

  device = vk::raii::Device(physical, e.device);
  device.owned = false;
  queue = vk::raii::Queue(device, e.queue_family, e.queue_index);
  create_resources(options, limit);
}

void SemaphoreSubmission::attach(vk::SubmitInfo& submit, const SubmitSync& sync) {
  bool timeline_values = false;
  for (const auto& w : sync.wait) {
    waits.push_back(vk_handle_cast<VkSemaphore>(w.semaphore));
    wait_values.push_back(w.value);
    wait_stages.push_back(vk::PipelineStageFlagBits::eComputeShader | vk::PipelineStageFlagBits::eTransfer);
    timeline_values |= w.value != 0;
  }
  for (const auto& s : sync.signal) {
    signals.push_back(vk_handle_cast<VkSemaphore>(s.semaphore));
    signal_values.push_back(s.value);
    timeline_values |= s.value != 0;
  }
  submit.setWaitSemaphores(waits).setWaitDstStageMask(wait_stages).setSignalSemaphores(signals);
  if (timeline_values) {
    timeline.setWaitSemaphoreValues(wait_values).setSignalSemaphoreValues(signal_values);
    submit.pNext = &timeline;
  }
}

}  // namespace detail

Tensor Tensor::wrap(Context& context, const VulkanBuffer& b, Shape shape, DType dtype) {
  detail::ContextImpl& ctx = context.impl();
  ctx.check_usable();
  if (shape.rank() == 0) throw InvalidArgument("vkgrad: wrap: a tensor needs a shape of 1 to 4 dimensions");
  if (b.buffer == 0)
    throw InvalidArgument("vkgrad: wrap: VulkanBuffer::buffer is null; pass the application's VkBuffer");
  if (!(b.usage & buffer_usage::storage)) {
    throw InvalidArgument(
        "vkgrad: wrap: the buffer has no VK_BUFFER_USAGE_STORAGE_BUFFER_BIT in VulkanBuffer::usage; vkgrad's "
        "kernels bind tensors as storage buffers: create the buffer with that usage (and pass its usage flags)");
  }
  const uint64_t alignment = std::max<uint64_t>(ctx.info.min_storage_buffer_offset_alignment, 4);
  if (b.offset % alignment != 0) {
    throw InvalidArgument("vkgrad: wrap: offset " + std::to_string(b.offset) + " is not a multiple of " +
                          std::to_string(alignment) + " (" + ctx.info.name +
                          "'s minStorageBufferOffsetAlignment, at least 4); place the tensor at an aligned offset");
  }
  const uint64_t bytes = shape.numel() * dtype_size(dtype);
  if (shape.numel() > std::numeric_limits<uint32_t>::max() || bytes / dtype_size(dtype) != shape.numel()) {
    throw UnsupportedError("vkgrad: wrap: a tensor of shape " + shape.to_string() + " has more than 2^32 elements");
  }
  const uint64_t needed = (bytes + 3) / 4 * 4;
  if (b.size < needed) {
    throw InvalidArgument("vkgrad: wrap: a tensor of shape " + shape.to_string() + " " + to_string(dtype) + " needs " +
                          std::to_string(needed) + " bytes (its data rounded up to 4) but VulkanBuffer::size is " +
                          std::to_string(b.size) + "; give a larger range or a smaller shape");
  }
  const vk::Buffer handle = vk_handle_cast<VkBuffer>(b.buffer);
  // What Vulkan can tell of the buffer's size: at least what the application created it with.
  VkMemoryRequirements requirements;
  ctx.device.getDispatcher()->vkGetBufferMemoryRequirements(static_cast<VkDevice>(*ctx.device),
                                                            static_cast<VkBuffer>(handle), &requirements);
  if (b.offset + b.size < b.offset || b.offset + b.size > requirements.size) {
    throw InvalidArgument("vkgrad: wrap: offset " + std::to_string(b.offset) + " + size " + std::to_string(b.size) +
                          " runs past the end of the buffer (" + std::to_string(requirements.size) +
                          " bytes at most); give a range within it");
  }
  // A descriptor binds at most maxStorageBufferRange bytes; vkgrad never needs more than the data.
  const uint64_t range = std::min<uint64_t>(b.size, ctx.info.max_storage_buffer_range / 4 * 4);
  if (range < needed) {
    throw UnsupportedError("vkgrad: wrap: a tensor of shape " + shape.to_string() + " " + to_string(dtype) + " needs " +
                           detail::format_bytes(bytes) + ", more than " + ctx.info.name +
                           " can bind as one storage buffer (maxStorageBufferRange " +
                           detail::format_bytes(ctx.info.max_storage_buffer_range) + ")");
  }
  Tensor t;
  t.buffer_ = std::make_shared<detail::Buffer>(context.shared_impl(), handle, b.offset, bytes, range,
                                               vk::BufferUsageFlags(b.usage));
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

VulkanBuffer Tensor::vulkan_buffer() const {
  const detail::Buffer& b = buffer();
  return VulkanBuffer{vk_handle(b.handle()), b.offset, size_bytes(), static_cast<uint32_t>(b.usage)};
}

}  // namespace vkgrad
