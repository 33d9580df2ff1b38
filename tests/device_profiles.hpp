// The compute limits and features of GPUs vkgrad is meant to run on, as their Vulkan drivers report
// them, and a way to make the test context choose its launches as it would on one of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <vkgrad/context.hpp>

namespace vkgrad::test {

/// A device's limits and features under a short name (what VKGRAD_TEST_DEVICE_PROFILE takes).
struct DeviceProfile {
  std::string key;  ///< e.g. "apple-m1"
  DeviceInfo info;  ///< only the fields kernel selection and launch configuration read
};

/// Every profile: the Vulkan 1.1 required minimums ("vulkan-1.1-minimum"), Apple M1 through
/// MoltenVK ("apple-m1"), Intel UHD Graphics 620 ("intel-uhd-620"), AMD RDNA2 ("amd-rdna2") and
/// NVIDIA Ampere and Hopper ("nvidia-rtx-3080", "nvidia-h100"). Filled in: name, type, subgroup and
/// 64-bit-integer features, texel-buffer formats, shared memory, workgroup counts and sizes, push
/// constants, per-stage descriptors, buffer ranges.
const std::vector<DeviceProfile>& device_profiles();

/// The profile whose key is `key`; InvalidArgument listing the keys when there is none.
const DeviceInfo& device_profile(std::string_view key);

/// Makes `ctx` choose its kernels and launches as it would on `profile` while it keeps running on
/// its own device: the device's reported limits become the profile's (capped at the real device's
/// where exceeding them would make a launch invalid here: push constants, buffer ranges, texel
/// elements), its features the ones both have, its subgroup width the profile's (the shaders read
/// the width they run at from the device; the host uses the reported one only to choose shapes), and
/// the kernel choice is resolved again from `options` for the changed device.
void adopt_device_profile(Context& ctx, const DeviceInfo& profile, const ContextOptions& options);

}  // namespace vkgrad::test
