#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// softmax_forward: row-wise softmax (LOG_SOFTMAX = 0) or log_softmax (LOG_SOFTMAX = 1) of an
// (rows, cols) row-major matrix, as torch.softmax / torch.log_softmax along the last dimension:
//   m = max_j x[r, j],  s = sum_j e^(x[r, j] - m),
//   softmax: y = e^(x - m) / s;   log_softmax: y = (x - m) - log(s)   (no cancellation: both <= 0 / >= 0).
// A row whose maximum is not finite (it holds NaN or +inf, or is all -inf) is all NaN, as in PyTorch;
// -inf entries of an otherwise finite row give 0 (softmax) / -inf (log_softmax).
//
// One workgroup per row, grid-striding over rows when rows exceed the dispatched group count.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 y: rows*cols floats, written (may not alias x).
// Push constants:   rows, cols (>= 1).
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE); 1 LOG_SOFTMAX (0 or 1).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint LOG_SOFTMAX = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * pc.cols;
        float m = -math_inf();
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) m = max_propagate_nan(m, x[base + k]);
        m = workgroup_max(m);  // uniform: the branch below is taken by the whole workgroup
        if (isnan(m) || isinf(m)) {
            float fill = isnan(m) ? m : math_nan();
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) y[base + k] = fill;
            continue;
        }
        float s = 0.0;
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) s += math_exp(x[base + k] - m);
        s = workgroup_sum(s);  // >= 1: the maximum contributes e^0
        if (LOG_SOFTMAX != 0u) {
            float log_s = math_log1p(s - 1.0);  // s - 1 is exact for s <= 2 (Sterbenz)
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) y[base + k] = (x[base + k] - m) - log_s;
        } else {
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) y[base + k] = math_exp(x[base + k] - m) / s;
        }
    }
}
