#version 450
#extension GL_GOOGLE_include_directive : require
// gemm with the shared-memory-free main loop of gemm_direct.glsl (CPU devices); see gemm.glsl.
#include "texel_io.glsl"
#define GEMM_DIRECT
#include "gemm.glsl"
