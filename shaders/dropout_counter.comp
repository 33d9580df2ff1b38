#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// dropout with the step read from a device counter (binding 2); see dropout.glsl.
#define DROPOUT_STEP_COUNTER
#include "texel_io.glsl"
#include "dropout.glsl"
