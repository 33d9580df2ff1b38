#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// softmax_backward_rows: softmax_backward.comp (same formulas; dx is overwritten; NaN propagates to
// its row) with one invocation per row instead of one workgroup, for CPU devices
// (lib/reduction_layout.hpp; see softmax_forward_rows.comp). Any grid size works.
//
// Bindings (set 0): 0 y, 1 dy: inputs (texel_io.glsl); 2 dx: written (must not alias y or dy).
// Push constants:   rows, cols (>= 1).
// Specialization:   0 local size x; 1 LOG_SOFTMAX (0 or 1).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint LOG_SOFTMAX = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, y)
VKGRAD_INPUT(1, dy)
VKGRAD_OUTPUT(2, dx)

void main() {
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint base = row * pc.cols;
        float s = 0.0;
        for (uint k = 0u; k < pc.cols; ++k) {
            const uint i = base + k;
            s += LOG_SOFTMAX != 0u ? dy_load(i) : dy_load(i) * y_load(i);
        }
        for (uint k = 0u; k < pc.cols; ++k) {
            const uint i = base + k;
            dx_store(i, LOG_SOFTMAX != 0u ? dy_load(i) - math_exp(y_load(i)) * s : y_load(i) * (dy_load(i) - s));
        }
    }
}
