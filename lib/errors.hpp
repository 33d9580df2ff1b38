// Turning Vulkan failures into vkgrad exceptions that say what happened and what to do.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "vkgrad/error.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

/// Throws the vkgrad exception matching `result`, with `doing` ("allocating 4 MiB of device memory")
/// and a hint on what to do.
[[noreturn]] void throw_vulkan_error(vk::Result result, std::string_view doing, std::string_view detail = {});

/// Runs f(); a vk::SystemError escaping it becomes the matching vkgrad exception.
template <class F>
decltype(auto) vk_call(std::string_view doing, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const vk::SystemError& e) {
    throw_vulkan_error(static_cast<vk::Result>(e.code().value()), doing, e.what());
  }
}

/// Throws InvalidArgument for a use of a moved-from `type` ("CommandList", "Context").
[[noreturn]] void fail_moved_from(std::string_view type);

/// "1.5 MiB", "512 B"
std::string format_bytes(uint64_t bytes);

}  // namespace vkgrad::detail
