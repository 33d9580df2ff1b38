// The Vulkan loader and instance of a Context: opening the loader, creating the instance (with the
// validation layer and synchronization validation on request, portability enumeration where the
// loader offers it, MoltenVK's fast math off), and the validation messenger.
#include <algorithm>
#include <cstring>

#include "context_impl.hpp"
#include "errors.hpp"
#include "platform.hpp"

namespace vkgrad::detail {

vk::raii::Context open_loader(std::span<const char* const> names) {
  std::string error;
  const platform::LibraryFunction get_instance_proc_addr = platform::open_vulkan_loader(names, error);
  if (get_instance_proc_addr == nullptr) {
    throw SetupError("vkgrad: cannot load the Vulkan loader (" + error + "). " +
                     platform::vulkan_loader_install_hint() + ".");
  }
  return vk::raii::Context(reinterpret_cast<PFN_vkGetInstanceProcAddr>(get_instance_proc_addr));
}

namespace {

const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool has_instance_extension(const vk::raii::Context& loader, const char* name) {
  for (const auto& e : loader.enumerateInstanceExtensionProperties()) {
    if (std::strcmp(e.extensionName, name) == 0) return true;
  }
  return false;
}

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  std::string message =
      severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "validation error: " : "validation warning: ";
  if (data && data->pMessageIdName) message += std::string("[") + data->pMessageIdName + "] ";
  if (data && data->pMessage) message += data->pMessage;
  static_cast<ContextImpl*>(user)->on_validation_message(std::move(message));
  return VK_FALSE;
}

// VK_EXT_layer_settings, which the Vulkan headers vkgrad builds against may predate: the extension
// name, structure type and structures as the Vulkan specification defines them.
constexpr const char* kLayerSettingsExtension = "VK_EXT_layer_settings";
constexpr auto kLayerSettingsCreateInfoType = static_cast<VkStructureType>(1000496000);
constexpr int32_t kLayerSettingTypeInt32 = 1;  // VK_LAYER_SETTING_TYPE_INT32_EXT
struct LayerSetting {
  const char* layer_name;
  const char* setting_name;
  int32_t type;  // VkLayerSettingTypeEXT
  uint32_t value_count;
  const void* values;
};
struct LayerSettingsCreateInfo {
  VkStructureType type;
  const void* next;
  uint32_t setting_count;
  const LayerSetting* settings;
};

}  // namespace

// fast_math_off: where the loader offers VK_EXT_layer_settings, tell MoltenVK not to compile with
// Metal's fast math (MVK_CONFIG_FAST_MATH_ENABLED = 0), which assumes no NaN or inf whatever the
// shader declares. Other drivers ignore a setting for the "MoltenVK" layer.
InstanceSetup create_instance(const vk::raii::Context& loader, bool validation, ContextImpl* messages_to,
                              bool fast_math_off) {
  const uint32_t loader_version = loader.enumerateInstanceVersion();
  if (loader_version < VK_API_VERSION_1_1) {
    throw SetupError(
        "vkgrad: the Vulkan loader supports only Vulkan " + std::to_string(VK_API_VERSION_MAJOR(loader_version)) + "." +
        std::to_string(VK_API_VERSION_MINOR(loader_version)) + "; vkgrad needs 1.1 or newer. Update libvulkan1.");
  }
  std::vector<const char*> extensions;
  std::vector<const char*> layers;
  InstanceSetup setup;
  setup.portability = has_instance_extension(loader, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
  if (setup.portability) extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);

  const vk::DebugUtilsMessengerCreateInfoEXT messenger_info(
      {}, vk::DebugUtilsMessageSeverityFlagBitsEXT::eWarning | vk::DebugUtilsMessageSeverityFlagBitsEXT::eError,
      vk::DebugUtilsMessageTypeFlagBitsEXT::eGeneral | vk::DebugUtilsMessageTypeFlagBitsEXT::eValidation,
      &debug_callback, messages_to);
  const vk::ValidationFeatureEnableEXT enables[] = {vk::ValidationFeatureEnableEXT::eSynchronizationValidation};
  vk::ValidationFeaturesEXT features(enables, {});
  features.pNext = &messenger_info;

  if (validation) {
    bool found = false;
    for (const auto& l : loader.enumerateInstanceLayerProperties()) {
      if (std::strcmp(l.layerName, kValidationLayer) == 0) found = true;
    }
    if (!found) {
      throw SetupError(
          "vkgrad: validation was requested (VKGRAD_VALIDATION=1 or ContextOptions::validation) but "
          "the Khronos validation layer is not installed. Install it (Debian/Ubuntu: apt-get install "
          "vulkan-validationlayers) or turn validation off.");
    }
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }

  const int32_t fast_math_never = 0;  // MVK_CONFIG_FAST_MATH_NEVER
  const LayerSetting fast_math{"MoltenVK", "MVK_CONFIG_FAST_MATH_ENABLED", kLayerSettingTypeInt32, 1, &fast_math_never};
  LayerSettingsCreateInfo settings{kLayerSettingsCreateInfoType, nullptr, 1, &fast_math};
  setup.fast_math_setting = fast_math_off && has_instance_extension(loader, kLayerSettingsExtension);
  if (setup.fast_math_setting) extensions.push_back(kLayerSettingsExtension);

  setup.api_version = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);
  const vk::ApplicationInfo app("vkgrad", VK_MAKE_API_VERSION(0, 0, 1, 0), "vkgrad", VK_MAKE_API_VERSION(0, 0, 1, 0),
                                setup.api_version);
  vk::InstanceCreateInfo info(
      setup.portability ? vk::InstanceCreateFlagBits::eEnumeratePortabilityKHR : vk::InstanceCreateFlags{}, &app,
      layers, extensions);
  if (validation) info.pNext = &features;
  if (setup.fast_math_setting) {
    settings.next = info.pNext;
    info.pNext = &settings;
  }
  try {
    setup.instance = vk::raii::Instance(loader, info);
  } catch (const vk::IncompatibleDriverError&) {
    // The loader found no driver at all (or none that speaks Vulkan 1.1).
    throw SetupError(
        "vkgrad: no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER). Install one "
        "(a CPU device: apt-get install mesa-vulkan-drivers; a GPU: its vendor's Vulkan driver), or check "
        "VK_DRIVER_FILES / VK_ICD_FILENAMES.");
  } catch (const vk::SystemError& e) {
    throw_vulkan_error(static_cast<vk::Result>(e.code().value()), "creating the Vulkan instance", e.what());
  }
  return setup;
}

void ContextImpl::create_messenger() {
  messenger = vk_call("creating the validation messenger", [&] {
    return instance.createDebugUtilsMessengerEXT(vk::DebugUtilsMessengerCreateInfoEXT(
        {}, vk::DebugUtilsMessageSeverityFlagBitsEXT::eWarning | vk::DebugUtilsMessageSeverityFlagBitsEXT::eError,
        vk::DebugUtilsMessageTypeFlagBitsEXT::eGeneral | vk::DebugUtilsMessageTypeFlagBitsEXT::eValidation,
        &debug_callback, this));
  });
}

}  // namespace vkgrad::detail
