#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_rows: out[r] = sum (OP 0), mean (OP 1) or max (OP 2, NaN propagates) of row r of an
// (rows, cols) row-major matrix. One workgroup per row, grid-striding over rows; per-invocation
// Kahan sums, then a fixed tree: deterministic.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 out: rows floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x (at most VKGRAD_MAX_LOCAL_SIZE); 1 OP (0 sum, 1 mean, 2 max).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * pc.cols;
        float value;
        if (OP == 2u) {
            float m = -math_inf();
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) m = max_propagate_nan(m, x[base + k]);
            value = workgroup_max(m);
        } else {
            // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
            precise float sum = 0.0, compensation = 0.0;
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
                float term = x[base + k] - compensation;
                float next = sum + term;
                compensation = isinf(next) ? 0.0 : (next - sum) - term;
                sum = next;
            }
            value = workgroup_sum(sum);
            if (OP == 1u) value /= float(pc.cols);
        }
        if (t == 0u) result[row] = value;
    }
}
