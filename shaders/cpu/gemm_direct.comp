#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// vkgrad-variant: f16 (also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16: A and B in binary16)
// gemm with the shared-memory-free main loop of gemm_direct.glsl (CPU devices); see gemm.glsl.
#include "texel_io.glsl"
#define GEMM_DIRECT
#include "gemm.glsl"
