// The one place vkgrad includes Vulkan-Hpp. Only the RAII layer is used: every handle has exactly
// one owner, and the loader is opened at run time (vk::raii::Context's dynamic loader).
#pragma once

#define VULKAN_HPP_NO_SPACESHIP_OPERATOR
#include <vulkan/vulkan_raii.hpp>
