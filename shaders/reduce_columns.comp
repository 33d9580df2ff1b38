#version 450
#extension GL_GOOGLE_include_directive : require
// reduce_columns: out[c] = sum (OP 0), mean (OP 1) or max (OP 2, NaN propagates) of column c of an
// (rows, cols) row-major matrix. One invocation per column (neighbouring invocations read
// neighbouring addresses), walking the rows in order with Kahan compensation: deterministic.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 out: cols floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x; 1 OP (0 sum, 1 mean, 2 max).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };

#include "reduce_workgroup.glsl"  // for max_propagate_nan


void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint c = gl_GlobalInvocationID.x; c < pc.cols; c += stride) {
        if (OP == 2u) {
            float m = -math_inf();
            for (uint r = 0u; r < pc.rows; ++r) m = max_propagate_nan(m, x[r * pc.cols + c]);
            result[c] = m;
        } else {
            // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
            precise float sum = 0.0, compensation = 0.0;
            for (uint r = 0u; r < pc.rows; ++r) {
                float term = x[r * pc.cols + c] - compensation;
                float next = sum + term;
                compensation = isinf(next) ? 0.0 : (next - sum) - term;
                sum = next;
            }
            result[c] = OP == 1u ? sum / float(pc.rows) : sum;
        }
    }
}
