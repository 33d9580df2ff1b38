#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// value_metrics_accumulate: adds one batch's figures for a loss on f32 targets (regression,
// multi-label) to running totals kept on the device, so a training loop reads them back only when it
// reports progress. Over the batch's n = rows · width elements of output y and target t:
//   totals[0] += loss[0] · (loss_is_sum ? 1 : rows)   (Kahan-compensated with totals[3])
//   totals[1] += Σ_i ((y_i > 0) == (t_i > 0.5))       (element accuracy of a multi-label logit)
//   totals[2] += rows
//   totals[4] += Σ_i (y_i - t_i)^2                     (Kahan-compensated with totals[5])
//   totals[6] += Σ_i |y_i - t_i|                       (Kahan-compensated with totals[7])
// Counts are exact while below 2^24 (f32 integers). A NaN error makes its sum NaN, an infinite one
// inf. One workgroup: each thread sums a strided share of the elements (Kahan), then shared-memory
// trees add the per-thread sums in a fixed order, so the result is deterministic.
//
// Bindings (set 0): 0 loss: 1 f32, read; 1 output: n f32, read; 2 target: n f32, read;
//                   3 totals: 8 f32, read/written.
// Push constants:   n, rows, loss_is_sum (0: loss[0] is the batch's mean, 1: its sum).
// Specialization:   0 local size x (a power of two, at most VKGRAD_MAX_LOCAL_SIZE).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; uint rows; uint loss_is_sum; } pc;

layout(set = 0, binding = 0) readonly buffer Loss { float loss[]; };
layout(set = 0, binding = 1) readonly buffer Output { float outputs[]; };
layout(set = 0, binding = 2) readonly buffer Target { float targets[]; };
layout(set = 0, binding = 3) buffer Totals { float totals[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared float squares[VKGRAD_MAX_LOCAL_SIZE];
shared float absolutes[VKGRAD_MAX_LOCAL_SIZE];
shared uint counts[VKGRAD_MAX_LOCAL_SIZE];

// Kahan summation: y = value − compensation; s = sum + y; compensation = (s − sum) − y. Once the sum
// is infinite the compensation would be inf − inf = NaN, so it is reset there and the sum stays inf.
void kahan_add(inout float sum, inout float compensation, float value) {
    precise float y = value - compensation;
    precise float s = sum + y;
    precise float c = (s - sum) - y;
    compensation = isinf(s) ? 0.0 : c;
    sum = s;
}

void main() {
    const uint t = gl_LocalInvocationID.x;
    float square_sum = 0.0, square_c = 0.0, absolute_sum = 0.0, absolute_c = 0.0;
    uint correct = 0u;
    for (uint i = t; i < pc.n; i += gl_WorkGroupSize.x) {
        const float y = outputs[i], target = targets[i];
        const float d = y - target;
        kahan_add(square_sum, square_c, d * d);
        kahan_add(absolute_sum, absolute_c, abs(d));
        correct += (y > 0.0) == (target > 0.5) ? 1u : 0u;
    }
    squares[t] = square_sum;
    absolutes[t] = absolute_sum;
    counts[t] = correct;
    barrier();
    for (uint width = gl_WorkGroupSize.x / 2u; width > 0u; width /= 2u) {
        if (t < width) {
            squares[t] += squares[t + width];
            absolutes[t] += absolutes[t + width];
            counts[t] += counts[t + width];
        }
        barrier();
    }
    if (t == 0u) {
        float s = totals[0], c = totals[3];
        kahan_add(s, c, loss[0] * (pc.loss_is_sum != 0u ? 1.0 : float(pc.rows)));
        totals[0] = s;
        totals[3] = c;
        s = totals[4];
        c = totals[5];
        kahan_add(s, c, squares[0]);
        totals[4] = s;
        totals[5] = c;
        s = totals[6];
        c = totals[7];
        kahan_add(s, c, absolutes[0]);
        totals[6] = s;
        totals[7] = c;
        totals[1] += float(counts[0]);
        totals[2] += float(pc.rows);
    }
}
