#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// metrics_accumulate: adds one batch's figures to running totals kept on the device, so a training
// loop reads them back only when it reports progress:
//   totals[0] += loss[0] · (loss_is_sum ? 1 : batch)   (Kahan-compensated, with totals[3] the running
//                                                      compensation)
//   totals[1] += Σ_r (predictions[r] == labels[r])
//   totals[2] += batch
// loss[0] is the batch's MEAN loss (its sum where loss_is_sum is set). Counts are exact while below 2^24 (f32 integers).
// One workgroup: each thread counts a strided share of the rows, then a shared-memory tree adds
// the per-thread counts (integers: the order cannot change the result).
//
// Bindings (set 0): 0 loss: 1 f32, read; 1 predictions: batch i32, read; 2 labels: batch i32, read;
//                   3 totals: 4 f32, read/written.
// Push constants:   batch, loss_is_sum.
// Specialization:   0 local size x (a power of two, at most VKGRAD_MAX_LOCAL_SIZE).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint batch; uint loss_is_sum; } pc;

layout(set = 0, binding = 0) readonly buffer Loss { float loss[]; };
layout(set = 0, binding = 1) readonly buffer Pred { int predictions[]; };
layout(set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 3) buffer Totals { float totals[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared uint counts[VKGRAD_MAX_LOCAL_SIZE];

void main() {
    const uint t = gl_LocalInvocationID.x;
    uint correct = 0u;
    for (uint r = t; r < pc.batch; r += gl_WorkGroupSize.x) correct += predictions[r] == labels[r] ? 1u : 0u;
    counts[t] = correct;
    barrier();
    for (uint width = gl_WorkGroupSize.x / 2u; width > 0u; width /= 2u) {
        if (t < width) counts[t] += counts[t + width];
        barrier();
    }
    if (t == 0u) {
        // Kahan summation: y = value − compensation; s = sum + y; compensation = (s − sum) − y.
        precise float y = loss[0] * (pc.loss_is_sum != 0u ? 1.0 : float(pc.batch)) - totals[3];
        precise float s = totals[0] + y;
        totals[3] = (s - totals[0]) - y;
        totals[0] = s;
        totals[1] += float(counts[0]);
        totals[2] += float(pc.batch);
    }
}
