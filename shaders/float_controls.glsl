// float_controls.glsl — included by every compute shader before anything else: the entry point
// declares SignedZeroInfNanPreserve for 32-bit floats (SPV_KHR_float_controls), so that the driver
// may not assume its floats are never NaN or ±inf, nor ignore the sign of zero. Without it, Vulkan
// lets a compiler fold isnan() and isinf() to false, and with them the selects that propagate NaN
// (math.glsl), the non-finite rows of softmax and cross-entropy and the finiteness checks.
//
// Every module is built with the declaration. On a device without
// shaderSignedZeroInfNanPreserveFloat32, or when a context turns preservation off
// (ContextOptions::preserve_inf_nan, VKGRAD_PRESERVE_INF_NAN=0), the library removes the execution
// mode, its capability and its extension from the words before it creates the shader module
// (lib/kernel_select.cpp), and NaN and inf handling is then as good as the driver makes it.

#ifndef VKGRAD_FLOAT_CONTROLS_GLSL
#define VKGRAD_FLOAT_CONTROLS_GLSL

#extension GL_EXT_spirv_intrinsics : require
// Capability SignedZeroInfNanPreserve = 4466, execution mode SignedZeroInfNanPreserve = 4461, for
// target width 32.
spirv_execution_mode(extensions = ["SPV_KHR_float_controls"], capabilities = [4466], 4461, 32);

#endif  // VKGRAD_FLOAT_CONTROLS_GLSL
