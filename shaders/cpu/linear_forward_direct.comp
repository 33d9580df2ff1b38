#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// vkgrad-variant: f16 (also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16: X and/or W in binary16)
// linear_forward with the shared-memory-free main loop of gemm_direct.glsl (CPU devices); see linear_forward.glsl.
#include "texel_io.glsl"
#define GEMM_DIRECT
#include "linear_forward.glsl"
