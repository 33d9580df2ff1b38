#include "device_profiles.hpp"

#include <algorithm>
#include <string>

#include "vkgrad/error.hpp"

#include "context_impl.hpp"
#include "kernel_select.hpp"

namespace vkgrad::test {

namespace {

struct ProfileLimits {
  uint32_t shared_memory;               // maxComputeSharedMemorySize
  uint32_t workgroup_count[3];          // maxComputeWorkGroupCount
  uint32_t workgroup_size[3];           // maxComputeWorkGroupSize
  uint32_t workgroup_invocations;       // maxComputeWorkGroupInvocations
  uint32_t push_constants;              // maxPushConstantsSize
  uint32_t storage_buffers_per_stage;   // maxPerStageDescriptorStorageBuffers
  uint32_t sampled_images_per_stage;    // maxPerStageDescriptorSampledImages
  uint64_t storage_buffer_range;        // maxStorageBufferRange
  uint32_t texel_buffer_elements;       // maxTexelBufferElements
  uint32_t subgroup_size;               // VkPhysicalDeviceSubgroupProperties::subgroupSize
  bool subgroup_arithmetic_and_ballot;  // supportedOperations, compute stage
  bool shader_int64;                    // VkPhysicalDeviceFeatures::shaderInt64
};

DeviceInfo make_profile(const char* name, DeviceType type, uint32_t api_version, const ProfileLimits& l) {
  DeviceInfo d;
  d.name = name;
  d.type = type;
  d.api_version = api_version;
  d.max_shared_memory = l.shared_memory;
  std::copy(l.workgroup_count, l.workgroup_count + 3, d.max_workgroup_count);
  std::copy(l.workgroup_size, l.workgroup_size + 3, d.max_workgroup_size);
  d.max_workgroup_invocations = l.workgroup_invocations;
  d.max_push_constants = l.push_constants;
  d.max_storage_buffers_per_stage = l.storage_buffers_per_stage;
  d.max_texel_buffers_per_stage = l.sampled_images_per_stage;
  d.max_storage_buffer_range = l.storage_buffer_range;
  d.max_texel_buffer_elements = l.texel_buffer_elements;
  d.subgroup_size = l.subgroup_size;
  d.subgroup_arithmetic = d.subgroup_ballot = l.subgroup_arithmetic_and_ballot;
  d.shader_int64 = l.shader_int64;
  // R32G32B32A32_SFLOAT / _UINT and R16G16B16A16_SFLOAT uniform texel buffers are required formats.
  d.texel_buffer_rgba32f = d.texel_buffer_rgba16f = d.texel_buffer_rgba32ui = true;
  d.signed_zero_inf_nan_preserve = true;
  return d;
}

// The vendor profiles below are transcribed from the devices' published vulkaninfo reports (the
// vulkan.gpuinfo.org report each names), not read from the devices: they model each device's compute
// limits for these tests, and a driver version may report other values.
std::vector<DeviceProfile> make_profiles() {
  constexpr uint32_t u32_max = 0xffffffffu;
  constexpr ProfileLimits nvidia = {
      49152, {2147483647, 65535, 65535}, {1024, 1024, 64}, 1024, 256, 1048576, 1048576, u32_max, 1u << 27, 32, true,
      true};
  return {
      // The Vulkan 1.1 specification's required limits ("Required Limits" table of the Limits
      // chapter; subgroupSize at least 1, no optional features): what every conformant device has.
      {"vulkan-1.1-minimum",
       make_profile("Vulkan 1.1 required limits", DeviceType::other, VK_API_VERSION_1_1,
                    {16384, {65535, 65535, 65535}, {128, 128, 64}, 128, 128, 4, 16, 1u << 27, 65536, 1, false, false})},
      // Apple M1 through MoltenVK (vulkan.gpuinfo.org reports for "Apple M1", macOS): Metal's 32 KiB
      // of threadgroup memory and 1024 threads per threadgroup, SIMD groups of 32, no shaderFloat64
      // and no 64-bit atomics; 31 buffers per stage is Metal's buffer argument table without argument
      // buffers (MoltenVK reports more with them), 128 textures likewise.
      {"apple-m1", make_profile("Apple M1", DeviceType::integrated_gpu, VK_API_VERSION_1_2,
                                {32768,
                                 {1073741824, 1073741824, 1073741824},
                                 {1024, 1024, 1024},
                                 1024,
                                 4096,
                                 31,
                                 128,
                                 1u << 30,
                                 1u << 26,
                                 32,
                                 true,
                                 true})},
      // Intel UHD Graphics 620 (Kaby Lake GT2) on Intel's Windows driver (vulkan.gpuinfo.org reports
      // for "Intel(R) UHD Graphics 620"): 32 KiB of shared memory (Mesa's ANV reports 64 KiB),
      // subgroups of 32 (the driver may run 8 or 16 wide).
      {"intel-uhd-620", make_profile("Intel UHD Graphics 620", DeviceType::integrated_gpu, VK_API_VERSION_1_3,
                                     {32768,
                                      {65535, 65535, 65535},
                                      {1024, 1024, 64},
                                      1024,
                                      256,
                                      1048576,
                                      1048576,
                                      1u << 30,
                                      1u << 27,
                                      32,
                                      true,
                                      true})},
      // AMD Radeon RX 6800 XT (RDNA2) on Mesa's RADV (vulkan.gpuinfo.org reports for "AMD Radeon RX
      // 6800 XT (RADV NAVI21)"): wave64 subgroups, 64 KiB of LDS per workgroup.
      {"amd-rdna2", make_profile("AMD Radeon RX 6800 XT", DeviceType::discrete_gpu, VK_API_VERSION_1_3,
                                 {65536,
                                  {u32_max, 65535, 65535},
                                  {1024, 1024, 1024},
                                  1024,
                                  256,
                                  8388606,
                                  8388606,
                                  u32_max,
                                  u32_max,
                                  64,
                                  true,
                                  true})},
      // NVIDIA GeForce RTX 3080 (Ampere) and H100 (Hopper) on NVIDIA's driver (vulkan.gpuinfo.org
      // reports for "NVIDIA GeForce RTX 3080" and "NVIDIA H100 80GB HBM3"): the same compute limits,
      // 48 KiB of shared memory, z at most 64 invocations, 65535 workgroups in y and z.
      {"nvidia-rtx-3080",
       make_profile("NVIDIA GeForce RTX 3080", DeviceType::discrete_gpu, VK_API_VERSION_1_3, nvidia)},
      {"nvidia-h100", make_profile("NVIDIA H100 80GB HBM3", DeviceType::discrete_gpu, VK_API_VERSION_1_3, nvidia)},
  };
}

}  // namespace

const std::vector<DeviceProfile>& device_profiles() {
  static const std::vector<DeviceProfile> profiles = make_profiles();
  return profiles;
}

const DeviceInfo& device_profile(std::string_view key) {
  std::string keys;
  for (const auto& p : device_profiles()) {
    if (p.key == key) return p.info;
    keys += (keys.empty() ? "" : ", ") + p.key;
  }
  throw InvalidArgument("no device profile '" + std::string(key) + "' (profiles: " + keys + ")");
}

void adopt_device_profile(Context& ctx, const DeviceInfo& profile, const ContextOptions& options) {
  detail::ContextImpl& c = ctx.impl();
  DeviceInfo& info = c.info;
  info.name = profile.name + " limits on " + info.name;
  info.type = profile.type;
  info.max_shared_memory = profile.max_shared_memory;
  for (int d = 0; d < 3; ++d) {
    info.max_workgroup_count[d] = profile.max_workgroup_count[d];
    info.max_workgroup_size[d] = profile.max_workgroup_size[d];
  }
  info.max_workgroup_invocations = profile.max_workgroup_invocations;
  info.max_storage_buffers_per_stage = profile.max_storage_buffers_per_stage;
  info.max_texel_buffers_per_stage = profile.max_texel_buffers_per_stage;
  info.max_push_constants = std::min(info.max_push_constants, profile.max_push_constants);
  info.max_storage_buffer_range = std::min(info.max_storage_buffer_range, profile.max_storage_buffer_range);
  info.max_texel_buffer_elements = std::min(info.max_texel_buffer_elements, profile.max_texel_buffer_elements);
  info.subgroup_size = profile.subgroup_size;
  info.subgroup_arithmetic = info.subgroup_arithmetic && profile.subgroup_arithmetic;
  info.subgroup_ballot = info.subgroup_ballot && profile.subgroup_ballot;
  info.shader_int64 = info.shader_int64 && profile.shader_int64;
  // NaN/inf preservation was settled when the device was created; the rest is chosen again.
  const KernelChoice before = c.kernels;
  c.kernels = detail::resolve_kernels(options, info);
  c.kernels.preserve_inf_nan = before.preserve_inf_nan;
  c.kernels.preserve_inf_nan_reason = before.preserve_inf_nan_reason;
  c.kernels.fast_math = before.fast_math;
}

}  // namespace vkgrad::test
