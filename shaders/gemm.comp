#version 450
#extension GL_GOOGLE_include_directive : require
// gemm: the shared-memory tiled variant; see gemm.glsl.
#include "gemm.glsl"
