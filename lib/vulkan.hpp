// The one place vkgrad includes Vulkan-Hpp. Only the RAII layer is used: every handle has exactly
// one owner. The loader is opened at run time by the platform layer (platform::open_vulkan_loader,
// which tries each of the platform's loader names), which hands vkGetInstanceProcAddr to
// vk::raii::Context: Vulkan-Hpp's own dynamic loader, which knows one name per platform, is left out.
//
// Leaving it out changes vk::raii::Context's members, and an application in the same program may
// include Vulkan-Hpp with its defaults (samples/interop does). So that the two never meet as two
// different definitions of one class, vkgrad's RAII classes live in a namespace of their own,
// vk::vkgrad_raii, which the library's code names vk::raii through an alias. The rest of Vulkan-Hpp
// (the plain handle and structure wrappers) is the same with either setting. No default dispatcher
// is used (VULKAN_HPP_DISPATCH_LOADER_DYNAMIC stays off): every call goes through the RAII objects'
// own dispatchers.
#pragma once
#ifndef VKGRAD_LIB_VULKAN_HPP
#define VKGRAD_LIB_VULKAN_HPP

#if defined(VULKAN_HPP)
#error "Vulkan-Hpp was included before lib/vulkan.hpp, with other settings; include lib/vulkan.hpp first"
#endif
#define VULKAN_HPP_NO_SPACESHIP_OPERATOR
#define VULKAN_HPP_ENABLE_DYNAMIC_LOADER_TOOL 0
#define VULKAN_HPP_RAII_NAMESPACE vkgrad_raii
#include <vulkan/vulkan_raii.hpp>

namespace vk {
namespace raii = vkgrad_raii;
}  // namespace vk

#endif  // VKGRAD_LIB_VULKAN_HPP
