// Physical devices: what each one offers (describe, for DeviceInfo and vkgrad-info) and which one a
// Context takes (select_device: VKGRAD_DEVICE / ContextOptions::device, else the best type).
#include "device_select.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include "errors.hpp"

namespace vkgrad::detail {

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool has_device_extension(const vk::raii::PhysicalDevice& pd, const char* name) {
  for (const auto& e : pd.enumerateDeviceExtensionProperties()) {
    if (std::strcmp(e.extensionName, name) == 0) return true;
  }
  return false;
}

// The compute queue family vkgrad uses: one with timestamps if possible.
std::optional<uint32_t> compute_family(const vk::raii::PhysicalDevice& pd) {
  std::optional<uint32_t> any;
  const auto families = pd.getQueueFamilyProperties();
  for (uint32_t i = 0; i < families.size(); ++i) {
    if (!(families[i].queueFlags & vk::QueueFlagBits::eCompute)) continue;
    if (families[i].timestampValidBits > 0) return i;
    if (!any) any = i;
  }
  return any;
}

DeviceInfo describe(const vk::raii::PhysicalDevice& pd, uint32_t index) {
  DeviceInfo d;
  d.index = index;
  const auto props = pd.getProperties();
  d.name = props.deviceName.data();
  switch (props.deviceType) {
    case vk::PhysicalDeviceType::eDiscreteGpu: d.type = DeviceType::discrete_gpu; break;
    case vk::PhysicalDeviceType::eIntegratedGpu: d.type = DeviceType::integrated_gpu; break;
    case vk::PhysicalDeviceType::eVirtualGpu: d.type = DeviceType::virtual_gpu; break;
    case vk::PhysicalDeviceType::eCpu: d.type = DeviceType::cpu; break;
    default: d.type = DeviceType::other; break;
  }
  d.vendor_id = props.vendorID;
  d.device_id = props.deviceID;
  d.api_version = props.apiVersion;
  d.driver_version = props.driverVersion;
  const auto& lim = props.limits;
  d.max_shared_memory = lim.maxComputeSharedMemorySize;
  d.max_storage_buffer_range = lim.maxStorageBufferRange;
  d.max_texel_buffer_elements = lim.maxTexelBufferElements;
  d.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
  d.min_texel_buffer_offset_alignment = lim.minTexelBufferOffsetAlignment;
  d.shader_int64 = pd.getFeatures().shaderInt64 == VK_TRUE;
  d.texel_buffer_rgba32f = static_cast<bool>(pd.getFormatProperties(vk::Format::eR32G32B32A32Sfloat).bufferFeatures &
                                             vk::FormatFeatureFlagBits::eUniformTexelBuffer);
  d.texel_buffer_rgba32ui = static_cast<bool>(pd.getFormatProperties(vk::Format::eR32G32B32A32Uint).bufferFeatures &
                                              vk::FormatFeatureFlagBits::eUniformTexelBuffer);
  d.texel_buffer_rgba16f = static_cast<bool>(pd.getFormatProperties(vk::Format::eR16G16B16A16Sfloat).bufferFeatures &
                                             vk::FormatFeatureFlagBits::eUniformTexelBuffer);
  for (int i = 0; i < 3; ++i) {
    d.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
    d.max_workgroup_size[i] = lim.maxComputeWorkGroupSize[i];
  }
  d.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  d.max_push_constants = lim.maxPushConstantsSize;
  d.max_storage_buffers_per_stage = lim.maxPerStageDescriptorStorageBuffers;
  d.max_texel_buffers_per_stage = lim.maxPerStageDescriptorSampledImages;
  d.timestamp_period_ns = lim.timestampPeriod;

  if (props.apiVersion >= VK_API_VERSION_1_1) {
    const bool driver_props =
        props.apiVersion >= VK_API_VERSION_1_2 || has_device_extension(pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    d.float_controls_extension = has_device_extension(pd, VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME);
    const bool float_controls = props.apiVersion >= VK_API_VERSION_1_2 || d.float_controls_extension;
    vk::PhysicalDeviceProperties2 p2;
    vk::PhysicalDeviceSubgroupProperties subgroup;
    vk::PhysicalDeviceDriverProperties driver;
    vk::PhysicalDeviceFloatControlsProperties controls;
    p2.pNext = &subgroup;
    if (driver_props) subgroup.pNext = &driver;
    if (float_controls) {
      controls.pNext = subgroup.pNext;
      subgroup.pNext = &controls;
    }
    pd.getDispatcher()->vkGetPhysicalDeviceProperties2(static_cast<VkPhysicalDevice>(*pd),
                                                       reinterpret_cast<VkPhysicalDeviceProperties2*>(&p2));
    d.subgroup_size = subgroup.subgroupSize;
    d.subgroup_arithmetic = (subgroup.supportedStages & vk::ShaderStageFlagBits::eCompute) &&
                            (subgroup.supportedOperations & vk::SubgroupFeatureFlagBits::eBasic) &&
                            (subgroup.supportedOperations & vk::SubgroupFeatureFlagBits::eArithmetic);
    d.subgroup_ballot = (subgroup.supportedStages & vk::ShaderStageFlagBits::eCompute) &&
                        (subgroup.supportedOperations & vk::SubgroupFeatureFlagBits::eBallot);
    if (driver_props) {
      d.driver_name = driver.driverName.data();
      d.driver_info = driver.driverInfo.data();
      d.driver_id = static_cast<uint32_t>(driver.driverID);
    }
    d.signed_zero_inf_nan_preserve = float_controls && controls.shaderSignedZeroInfNanPreserveFloat32 == VK_TRUE;
    // Reported for vkgrad-info and future f16 paths; vkgrad does not use them yet.
    if (props.apiVersion >= VK_API_VERSION_1_2 || has_device_extension(pd, "VK_KHR_shader_float16_int8")) {
      vk::PhysicalDeviceFeatures2 f2;
      vk::PhysicalDeviceShaderFloat16Int8Features f16;
      f2.pNext = &f16;
      pd.getDispatcher()->vkGetPhysicalDeviceFeatures2(static_cast<VkPhysicalDevice>(*pd),
                                                       reinterpret_cast<VkPhysicalDeviceFeatures2*>(&f2));
      d.shader_float16 = f16.shaderFloat16 == VK_TRUE;
    }
    d.cooperative_matrix = has_device_extension(pd, "VK_KHR_cooperative_matrix");
  }

  const auto mem = pd.getMemoryProperties();
  bool host_visible_device_local = false;
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    if (mem.memoryHeaps[i].flags & vk::MemoryHeapFlagBits::eDeviceLocal) {
      d.device_local_bytes = std::max<uint64_t>(d.device_local_bytes, mem.memoryHeaps[i].size);
    }
  }
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    using F = vk::MemoryPropertyFlagBits;
    const auto f = mem.memoryTypes[i].propertyFlags;
    if ((f & F::eDeviceLocal) && (f & F::eHostVisible) && (f & F::eHostCoherent)) host_visible_device_local = true;
  }
  // Discrete GPUs may expose a small host-visible device-local window (ReBAR); treat only integrated
  // and CPU devices as unified, where all device memory is system memory.
  d.unified_memory = host_visible_device_local && (d.type == DeviceType::integrated_gpu || d.type == DeviceType::cpu);

  const auto family = compute_family(pd);
  if (family) d.timestamps = pd.getQueueFamilyProperties()[*family].timestampValidBits > 0 && lim.timestampPeriod > 0;
  if (props.apiVersion < VK_API_VERSION_1_1) {
    d.unusable_reason = "supports only Vulkan " + std::to_string(VK_API_VERSION_MAJOR(props.apiVersion)) + "." +
                        std::to_string(VK_API_VERSION_MINOR(props.apiVersion)) + " (vkgrad needs 1.1)";
  } else if (!family) {
    d.unusable_reason = "has no compute queue";
  } else {
    d.usable = true;
  }
  return d;
}

namespace {

int type_rank(DeviceType t) {
  switch (t) {
    case DeviceType::discrete_gpu: return 4;
    case DeviceType::integrated_gpu: return 3;
    case DeviceType::virtual_gpu: return 2;
    case DeviceType::cpu: return 1;
    default: return 0;
  }
}

std::string describe_list(const std::vector<DeviceInfo>& devices) {
  std::ostringstream s;
  for (const auto& d : devices) {
    s << "\n  " << d.index << ": " << d.name << " (" << to_string(d.type) << ")";
    if (!d.usable) s << " — unusable: " << d.unusable_reason;
  }
  return s.str();
}

}  // namespace

uint32_t select_device(const std::vector<DeviceInfo>& devices, const std::string& request) {
  if (devices.empty()) {
    throw SetupError(
        "vkgrad: no Vulkan device found. Install a Vulkan driver (for a CPU device: apt-get install "
        "mesa-vulkan-drivers), or check VK_ICD_FILENAMES / VK_DRIVER_FILES.");
  }
  if (!request.empty()) {
    const bool numeric = std::all_of(request.begin(), request.end(), [](unsigned char c) { return std::isdigit(c); });
    for (const auto& d : devices) {
      const bool match = numeric ? std::to_string(d.index) == request
                                 : ascii_lower(d.name).find(ascii_lower(request)) != std::string::npos;
      if (!match) continue;
      if (!d.usable) {
        throw SetupError("vkgrad: device '" + request + "' (" + d.name + ") " + d.unusable_reason +
                         ". Devices:" + describe_list(devices));
      }
      return d.index;
    }
    throw SetupError(
        "vkgrad: no Vulkan device matches '" + request +
        "' (VKGRAD_DEVICE or ContextOptions::device: an index or part of the name). Devices:" + describe_list(devices));
  }
  const DeviceInfo* best = nullptr;
  for (const auto& d : devices) {
    if (d.usable && (!best || type_rank(d.type) > type_rank(best->type))) best = &d;
  }
  if (!best) throw SetupError("vkgrad: no usable Vulkan device. Devices:" + describe_list(devices));
  return best->index;
}

}  // namespace vkgrad::detail
