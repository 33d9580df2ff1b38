#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// dropout with the step as a push constant; see dropout.glsl.
#include "texel_io.glsl"
#include "dropout.glsl"
