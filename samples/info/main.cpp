// vkgrad-info: lists the Vulkan devices the loader reports, marks the one vkgrad would pick (and
// says why), and prints the capabilities vkgrad uses on it. Exits 1, with what to do, when no device
// is usable.
#include <vkgrad/vkgrad.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string version_string(uint32_t v) {
  return std::to_string(v >> 22) + "." + std::to_string((v >> 12) & 0x3ff) + "." + std::to_string(v & 0xfff);
}

std::string bytes(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t(1) << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(b) / double(uint64_t(1) << 30));
  } else if (b >= (uint64_t(1) << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(uint64_t(1) << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  }
  return buf;
}

}  // namespace

int main() {
  std::vector<vkgrad::DeviceInfo> devices;
  try {
    devices = vkgrad::list_devices();
  } catch (const vkgrad::Error& e) {
    std::fprintf(stderr, "vkgrad-info: %s\n", e.what());
    return 1;
  }
  std::printf("Vulkan devices (%zu):\n", devices.size());
  for (const auto& d : devices) {
    std::printf("  [%u] %s — %s, Vulkan %s, driver %s %s\n", d.index, d.name.c_str(), vkgrad::to_string(d.type),
                version_string(d.api_version).c_str(), d.driver_name.c_str(), d.driver_info.c_str());
    if (!d.usable) {
      std::printf("      not usable by vkgrad: %s\n", d.unusable_reason.c_str());
      continue;
    }
    std::printf("      subgroup size %u, subgroup arithmetic %s; shared memory %s; storage buffers up to %s\n",
                d.subgroup_size, d.subgroup_arithmetic ? "yes" : "no", bytes(d.max_shared_memory).c_str(),
                bytes(d.max_storage_buffer_range).c_str());
    std::printf("      f16 arithmetic %s, cooperative matrices %s\n", d.shader_float16 ? "yes" : "no",
                d.cooperative_matrix ? "yes (VK_KHR_cooperative_matrix)" : "no");
    std::printf(
        "      workgroups: %u invocations, %u x %u x %u counts; push constants %u B; timestamps %s; "
        "device-local memory %s%s\n",
        d.max_workgroup_invocations, d.max_workgroup_count[0], d.max_workgroup_count[1], d.max_workgroup_count[2],
        d.max_push_constants, d.timestamps ? "yes" : "no", bytes(d.device_local_bytes).c_str(),
        d.unified_memory ? " (unified with the host)" : "");
  }
  try {
    vkgrad::Context ctx;
    const auto& d = ctx.device();
    const char* env = std::getenv("VKGRAD_DEVICE");
    std::printf("\nvkgrad uses [%u] %s: %s\n", d.index, d.name.c_str(),
                env && *env ? ("chosen by VKGRAD_DEVICE=" + std::string(env)).c_str()
                            : "the first usable device of the best type (discrete > integrated > virtual > CPU)");
    const auto& k = ctx.kernels();
    std::printf("  kernels: %s (%s; VKGRAD_KERNELS=auto|gpu|cpu chooses)\n", vkgrad::to_string(k.set),
                k.reason.c_str());
    std::printf("  reductions: %s; row reductions: %s\n",
                k.subgroup_reductions ? "subgroup arithmetic" : "portable shared-memory tree",
                k.row_reductions == vkgrad::RowReductions::workgroup ? "a workgroup per row" : "an invocation per row");
    std::printf("  matrix products: %s\n", k.gemm_path == vkgrad::GemmPath::tiled
                                               ? "shared-memory tiles sized from the device's limits"
                                           : k.gemm_path == vkgrad::GemmPath::direct
                                               ? "direct (no shared memory)"
                                               : "direct with 8-lane subgroup broadcasts (no shared memory)");
    std::printf("  loads: %s\n", k.texel_loads ? "texel buffers (elementwise ops and GEMM)" : "storage buffers");
    std::printf("  f16 tensors: storage only, read by gemm / linear through %s; cast converts (integer code)\n",
                ctx.texel_loads() && d.texel_buffer_rgba16f ? "R16G16B16A16_SFLOAT texel views"
                                                            : "storage buffers (integer conversion)");
    std::printf("  f16 arithmetic and cooperative matrices: not used yet (all math is f32)\n");
    std::printf("  NaN/inf preservation: %s%s\n", k.preserve_inf_nan_reason.c_str(),
                k.preserve_inf_nan ? "; VKGRAD_PRESERVE_INF_NAN=0 turns it off" : "");
    if (!k.fast_math.empty()) std::printf("  MoltenVK fast math: %s\n", k.fast_math.c_str());
    const auto cache = ctx.pipeline_cache_path();
    std::printf("  pipeline cache: %s\n", cache.empty() ? "off (VKGRAD_PIPELINE_CACHE=0)" : cache.string().c_str());
    std::printf("  validation layer: %s\n", ctx.validation_enabled() ? "on" : "off (VKGRAD_VALIDATION=1 turns it on)");
  } catch (const vkgrad::Error& e) {
    std::fprintf(stderr, "\nvkgrad-info: no usable device: %s\n", e.what());
    return 1;
  }
  return 0;
}
