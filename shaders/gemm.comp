#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// vkgrad-variant: f16 (also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16: A and B in binary16)
// gemm: the shared-memory tiled variant; see gemm.glsl.
#include "gemm.glsl"
