// The SPIR-V modules embedded at build time (cmake/VkgradShaders.cmake), looked up by shader name.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace vkgrad::detail {

struct ShaderBinary {
  std::string_view name;  ///< file name without extension: "activation_forward"
  const unsigned char* data;
  std::size_t size;  ///< bytes, a multiple of 4
};

std::span<const ShaderBinary> shader_binaries();
/// Throws vkgrad::Error if no shader of that name was embedded (a build problem).
const ShaderBinary& shader_binary(std::string_view name);
/// Whether a shader of that name was embedded (variants such as <name>_subgroup are optional).
bool has_shader_binary(std::string_view name);

}  // namespace vkgrad::detail
