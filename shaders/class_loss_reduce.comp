#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// class_loss_reduce (cross-entropy and NLL): loss[0] = sum of the per-row losses (REDUCTION_MEAN = 0), or that sum
// divided by the number of non-ignored rows status[2] (REDUCTION_MEAN = 1; NaN when every row is
// ignored, as PyTorch's 0/0). Ignored rows hold 0, rows with bad labels NaN, so they poison the sum.
// Deterministic: each invocation sums rows t, t + L, ... with Kahan compensation, then a fixed tree.
//
// Dispatch exactly one workgroup.
//
// Bindings (set 0): 0 row_loss: rows floats, read; 1 status: 4 ints, read; 2 loss: 1 float, written.
// Push constants:   rows.
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE); 1 REDUCTION_MEAN (0 or 1).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint REDUCTION_MEAN = 0;

layout(push_constant) uniform Push { uint rows; } pc;

layout(set = 0, binding = 0) readonly buffer RowLoss { float row_loss[]; };
layout(set = 0, binding = 1) readonly buffer Status { int status[]; };
layout(set = 0, binding = 2) writeonly buffer Loss { float loss[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
    precise float sum = 0.0, compensation = 0.0;
    for (uint row = t; row < pc.rows; row += gl_WorkGroupSize.x) {
        float term = row_loss[row] - compensation;
        float next = sum + term;
        // Once the sum is infinite the compensation would be inf - inf = NaN: keep it at 0 so the
        // sum stays inf (a NaN term still makes it NaN).
        compensation = isinf(next) ? 0.0 : (next - sum) - term;
        sum = next;
    }
    sum = workgroup_sum(sum);
    if (t == 0u) {
        if (REDUCTION_MEAN != 0u) {
            int count = status[2];
            loss[0] = count == 0 ? math_nan() : sum / float(count);
        } else {
            loss[0] = sum;
        }
    }
}
