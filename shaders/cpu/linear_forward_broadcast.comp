#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#extension GL_KHR_shader_subgroup_ballot : require
// vkgrad-variant: f16 (also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16: X and/or W in binary16)
// linear_forward with the subgroup-broadcast main loop of gemm_broadcast.glsl (CPU devices with
// 8-wide subgroups); see linear_forward.glsl.
#include "texel_io.glsl"
#define GEMM_BROADCAST
#include "linear_forward.glsl"
