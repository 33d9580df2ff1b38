#version 450
#extension GL_GOOGLE_include_directive : require
// linear_forward: the shared-memory tiled variant; see linear_forward.glsl.
#include "linear_forward.glsl"
