// Physical-device description and selection (lib/device_select.cpp), used by the Context and by
// list_devices().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vkgrad/context.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

/// s with ASCII letters in lower case (device names, size suffixes).
std::string ascii_lower(std::string s);
/// Whether the device offers the extension.
bool has_device_extension(const vk::raii::PhysicalDevice& pd, const char* name);
/// The compute queue family vkgrad uses: one with timestamps if possible.
std::optional<uint32_t> compute_family(const vk::raii::PhysicalDevice& pd);
/// Everything vkgrad reports and decides from about device `index`, including whether it is usable.
DeviceInfo describe(const vk::raii::PhysicalDevice& pd, uint32_t index);
/// The index of the device to use: the one `request` names (an index or part of the name), else
/// the best usable type (discrete > integrated > virtual > CPU). Throws SetupError naming every
/// device when there is none or the request matches none or an unusable one.
uint32_t select_device(const std::vector<DeviceInfo>& devices, const std::string& request);

}  // namespace vkgrad::detail
