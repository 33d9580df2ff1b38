// Which compiled module a dispatch runs. Every shader is built in a few variants
// (cmake/VkgradShaders.cmake): as written, and where the source opts in, _texel (inputs through
// uniform texel buffers), _subgroup (reductions with subgroup arithmetic) and _f16 (binary16 inputs on
// storage buffers). An op names the shader and its bindings; resolve_kernel picks the variant from
// the context's kernel set (KernelChoice) and the bound tensors' dtypes and access, and reads each
// binding's descriptor type from the module itself, so no op states which bindings are texel buffers.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "command_impl.hpp"
#include "pipeline.hpp"
#include "vkgrad/context.hpp"

namespace vkgrad::detail {

struct ShaderBinary;

/// How a module declares one binding of descriptor set 0.
enum class BindingKind : uint8_t {
  none,         ///< not declared (the module does not use it)
  storage,      ///< storage buffer
  texel_float,  ///< uniform texel buffer of floats (samplerBuffer): the tensor's float view
  texel_uint,   ///< uniform texel buffer of unsigned integers (usamplerBuffer): the tensor's raw bits
};

/// The bindings of set 0 declared by a SPIR-V module, indexed by binding number. Throws
/// vkgrad::Error for a module it cannot read or a descriptor kind vkgrad never binds (a build
/// problem).
std::vector<BindingKind> reflect_bindings(std::span<const uint32_t> words);

/// The workgroup size a module runs with when specialization constant i is specialization[i] (ids
/// past its end keep their defaults), as the pipeline cache creates it: its WorkgroupSize built-in
/// where it declares one, else its LocalSize execution mode. Throws vkgrad::Error for words that are
/// not a SPIR-V module.
std::array<uint32_t, 3> reflect_workgroup_size(std::span<const uint32_t> words,
                                               std::span<const uint32_t> specialization);

/// `words` without the SignedZeroInfNanPreserve declaration every module carries
/// (shaders/float_controls.glsl): its OpExecutionMode, its OpCapability and, unless another float
/// controls capability still needs it, the SPV_KHR_float_controls OpExtension. Nothing else refers
/// to them, so the result is as valid as the input; a module without the declaration comes back
/// unchanged. Throws vkgrad::Error for words that are not a SPIR-V module.
std::vector<uint32_t> strip_inf_nan_preserve(std::span<const uint32_t> words);

/// Whether `words` declare SignedZeroInfNanPreserve for 32-bit floats: the execution mode on an entry
/// point, the capability and the extension. Throws vkgrad::Error for words that are not a SPIR-V
/// module.
bool declares_inf_nan_preserve(std::span<const uint32_t> words);

/// The words of `module` as `choice` runs them: as embedded where it preserves NaN and inf, else
/// with the declaration stripped (strip_inf_nan_preserve).
std::vector<uint32_t> module_words(const KernelChoice& choice, const ShaderBinary& module);

/// `requested` (a shader as written, its specialization constants and binding count) turned into
/// what runs on `context` with `uses` bound in order:
///  - the _texel variant where the context uses texel loads, the shader has one and every binding it
///    reads as a texel buffer is a read-only tensor with a texel view of its dtype;
///  - else the _f16 variant where a read-only binding holds an f16 tensor, with bit b of
///    specialization constant VKGRAD_SPEC_F16_MASK set for each f16 binding b;
///  - plus _subgroup where the context uses subgroup reductions and the shader has such a variant.
/// The result's texel_bindings / raw_texel_bindings come from the chosen module's declarations.
Kernel resolve_kernel(const ContextImpl& context, const Kernel& requested, std::initializer_list<BufferUse> uses);

/// Throws UnsupportedError, naming `op` and the limit, when `kernel` binds more storage buffers or
/// uniform texel buffers than `dev` allows one compute pipeline (Vulkan guarantees only 4 storage
/// buffers per stage).
void check_descriptor_limits(const DeviceInfo& dev, const Kernel& kernel, std::string_view op);

/// Throws UnsupportedError, naming `op` and the limit, when the workgroup of `kernel` (a resolved
/// build and its specialization, reflect_workgroup_size) exceeds `dev`'s maxComputeWorkGroupSize in
/// any dimension or its maxComputeWorkGroupInvocations.
void check_workgroup_limits(const DeviceInfo& dev, const Kernel& kernel, std::string_view op);

}  // namespace vkgrad::detail
