#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#extension GL_KHR_shader_subgroup_ballot : require
// vkgrad-variant: f16 (also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16: A and B in binary16)
// gemm with the subgroup-broadcast main loop of gemm_broadcast.glsl (CPU devices with 8-wide
// subgroups); see gemm.glsl.
#include "texel_io.glsl"
#define GEMM_BROADCAST
#include "gemm.glsl"
