#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// softmax_backward: the input gradient of a row-wise softmax or log_softmax, from its output y and
// the upstream gradient dy ((rows, cols) row-major each):
//   softmax     (LOG_SOFTMAX = 0): dx = y * (dy - sum_j dy[j] y[j])
//   log_softmax (LOG_SOFTMAX = 1): dx = dy - e^y * sum_j dy[j]      (e^y = softmax(x))
// dx is OVERWRITTEN. NaN in y or dy propagates to its row.
//
// One workgroup per row, grid-striding over rows.
//
// Bindings (set 0): 0 y: read; 1 dy: read; 2 dx: written (must not alias y or dy).
// Push constants:   rows, cols (>= 1).
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE); 1 LOG_SOFTMAX (0 or 1).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint LOG_SOFTMAX = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * pc.cols;
        float s = 0.0;
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
            s += LOG_SOFTMAX != 0u ? dy[base + k] : dy[base + k] * y[base + k];
        }
        s = workgroup_sum(s);
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
            uint i = base + k;
            dx[i] = LOG_SOFTMAX != 0u ? dy[i] - math_exp(y[i]) * s : y[i] * (dy[i] - s);
        }
    }
}
