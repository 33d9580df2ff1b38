#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_columns: out[c] = sum (OP 0), mean (OP 1) or max (OP 2, NaN propagates) of column c of an
// (rows, cols) row-major matrix. One invocation per column (neighbouring invocations read
// neighbouring addresses), walking the rows in order with Kahan compensation: deterministic.
//
// With QUADS (cols % 4 == 0; the per-invocation layout of CPU devices, lib/reduce.cpp) one
// invocation per 4 neighbouring columns through vec4 loads, each column summed in the same order
// with the same arithmetic: the same bits.
//
// Bindings (set 0): 0 x: rows*cols floats, read (texel_io.glsl); 1 out: cols floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x (at most VKGRAD_MAX_LOCAL_SIZE); 1 OP (0 sum, 1 mean, 2 max); 2 QUADS.

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const bool QUADS = false;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };

#include "reduce_workgroup.glsl"  // for max_propagate_nan


// Columns 4q .. 4q + 3 (cols % 4 == 0).
void reduce_quad(uint q) {
    const uint quads_per_row = pc.cols / 4u;
    if (OP == 2u) {
        vec4 m = vec4(-math_inf());
        for (uint r = 0u; r < pc.rows; ++r) {
            const vec4 v = x_load4(r * quads_per_row + q);
            for (uint k = 0u; k < 4u; ++k) m[k] = max_propagate_nan(m[k], v[k]);
        }
        for (uint k = 0u; k < 4u; ++k) result[4u * q + k] = m[k];
    } else {
        precise vec4 sum = vec4(0.0), compensation = vec4(0.0);
        for (uint r = 0u; r < pc.rows; ++r) {
            precise vec4 term = x_load4(r * quads_per_row + q) - compensation;
            precise vec4 next = sum + term;
            compensation = mix((next - sum) - term, vec4(0.0), isinf(next));
            sum = next;
        }
        for (uint k = 0u; k < 4u; ++k) result[4u * q + k] = OP == 1u ? sum[k] / float(pc.rows) : sum[k];
    }
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (QUADS) {
        for (uint q = gl_GlobalInvocationID.x; q < pc.cols / 4u; q += stride) reduce_quad(q);
        return;
    }
    for (uint c = gl_GlobalInvocationID.x; c < pc.cols; c += stride) {
        if (OP == 2u) {
            float m = -math_inf();
            for (uint r = 0u; r < pc.rows; ++r) m = max_propagate_nan(m, x_load(r * pc.cols + c));
            result[c] = m;
        } else {
            // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
            precise float sum = 0.0, compensation = 0.0;
            for (uint r = 0u; r < pc.rows; ++r) {
                float term = x_load(r * pc.cols + c) - compensation;
                float next = sum + term;
                compensation = isinf(next) ? 0.0 : (next - sum) - term;
                sum = next;
            }
            result[c] = OP == 1u ? sum / float(pc.rows) : sum;
        }
    }
}
