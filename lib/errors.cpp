#include "errors.hpp"

#include <cstdio>

namespace vkgrad::detail {

void throw_vulkan_error(vk::Result result, std::string_view doing, std::string_view detail) {
  std::string message = "vkgrad: " + std::string(doing) + " failed: " + vk::to_string(result);
  if (!detail.empty()) message += " (" + std::string(detail) + ")";
  const int code = static_cast<int>(result);
  switch (result) {
    case vk::Result::eErrorOutOfDeviceMemory:
      throw OutOfMemoryError(message +
                                 ". The device is out of memory: free tensors or command lists, or use "
                                 "smaller batches or layers.",
                             code);
    case vk::Result::eErrorOutOfHostMemory:
      throw OutOfMemoryError(message +
                                 ". The host is out of memory: free memory (tensors, command lists, other "
                                 "programs) and retry.",
                             code);
    case vk::Result::eErrorDeviceLost:
      throw DeviceLostError(message +
                                ". The device was lost (driver reset, hang or removal); this context is "
                                "unusable now: create a new vkgrad::Context.",
                            code);
    case vk::Result::eErrorInitializationFailed:
    case vk::Result::eErrorIncompatibleDriver:
      throw DeviceError(message +
                            ". The Vulkan driver could not be initialised: check that a driver is installed "
                            "(for a CPU device: apt-get install mesa-vulkan-drivers).",
                        code);
    default:
      throw DeviceError(message +
                            ". Retry; if it keeps failing, run with VKGRAD_VALIDATION=1 to look for a "
                            "cause, or update the Vulkan driver.",
                        code);
  }
}

void fail_moved_from(std::string_view type) {
  const std::string t(type);
  throw InvalidArgument("vkgrad: this " + t + " was moved from: use the " + t + " it was moved into. A moved-from " +
                        t + " may only be destroyed or assigned to.");
}

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(1ull << 30));
  } else if (bytes >= (1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / double(1ull << 20));
  } else if (bytes >= (1ull << 10)) {
    std::snprintf(buf, sizeof buf, "%.2f KiB", double(bytes) / double(1ull << 10));
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

}  // namespace vkgrad::detail
