#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_rows_per_row: reduce_rows.comp (sum, mean or max of each row; Kahan sums; NaN propagates)
// with one invocation per row instead of one workgroup, for CPU devices (lib/reduction_layout.hpp;
// see softmax_forward_rows.comp): the row is summed in column order. Any grid size works.
//
// Bindings (set 0): 0 x: rows*cols floats, input (texel_io.glsl); 1 out: rows floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x; 1 OP (0 sum, 1 mean, 2 max).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };

void main() {
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint base = row * pc.cols;
        float value;
        if (OP == 2u) {
            value = -math_inf();
            for (uint k = 0u; k < pc.cols; ++k) value = max_propagate_nan(value, x_load(base + k));
        } else {
            // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
            precise float sum = 0.0, compensation = 0.0;
            for (uint k = 0u; k < pc.cols; ++k) {
                float term = x_load(base + k) - compensation;
                float next = sum + term;
                compensation = isinf(next) ? 0.0 : (next - sum) - term;
                sum = next;
            }
            value = OP == 1u ? sum / float(pc.cols) : sum;
        }
        result[row] = value;
    }
}
