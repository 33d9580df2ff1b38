// The SPIR-V modules embedded at build time (cmake/VkgradShaders.cmake, cmake/EmbedSpirv.cmake): every
// shader with each of its builds, looked up by shader and build (lib/kernel_select.cpp picks which).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vkgrad::detail {

/// What a build of a shader was compiled with, as bits (cmake/VkgradShaders.cmake makes them).
enum ShaderVariant : uint32_t {
  kVariantPlain = 0,
  kVariantTexel = 1,     ///< VKGRAD_TEXEL=1: inputs through uniform texel buffers (<name>_texel)
  kVariantSubgroup = 2,  ///< VKGRAD_SUBGROUP=1: reductions with subgroup arithmetic (<name>_subgroup)
  kVariantF16 = 4,       ///< VKGRAD_F16_INPUTS=1: binary16 inputs on storage buffers (<name>_f16)
};

struct ShaderBinary {
  std::string_view name;    ///< the build's name: "activation_forward_texel"
  std::string_view shader;  ///< the source's file name without extension: "activation_forward"
  uint32_t variant;         ///< ShaderVariant bits
  const unsigned char* data;
  std::size_t size;  ///< bytes, a multiple of 4
};

std::span<const ShaderBinary> shader_binaries();
/// The build of `shader` with exactly the `variant` bits, or null if the build step made none.
const ShaderBinary* find_shader_build(std::string_view shader, uint32_t variant);
/// Throws vkgrad::Error if no build of that name was embedded (a build problem).
const ShaderBinary& shader_binary(std::string_view name);

}  // namespace vkgrad::detail
