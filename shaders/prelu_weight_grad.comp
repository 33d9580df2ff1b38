#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// prelu_weight_grad: dw[c] = sum over the elements i of channel c of (x[i] > 0 ? 0 : x[i]) * dy[i],
// the slope gradient of nn.PReLU. x is (outer, channels, inner) flattened; channel c holds the
// n / channels elements i = (o * channels + c) * inner + j. dw is OVERWRITTEN, not accumulated
// into.
//
// Dispatch min(channels, the device's workgroup-count limit) workgroups: workgroup g reduces
// channels g, g + G, g + 2G, ... (G = gl_NumWorkGroups.x; one channel each when G = channels), the
// same channel count for every invocation, so the barriers stay in uniform control flow.
// Deterministic: thread t sums elements t, t + L, t + 2L, ... of its channel (L = local size) with
// Kahan compensation, so the error does not grow with n, then the workgroup adds the partial sums in
// a fixed tree.
//
// Bindings (set 0): 0 x: n floats, read; 1 dy: n floats, read; 2 dw: channels floats, written.
// Push constants:   n (element count, a multiple of channels * inner), channels, inner (>= 1).
// Specialization:   0 local size x (default 256; any size up to VKGRAD_MAX_LOCAL_SIZE, not only powers of
//                   two).

#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; uint channels; uint inner; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) writeonly buffer DW { float dw[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared float partial[VKGRAD_MAX_LOCAL_SIZE];

// Writes dw[c]; every invocation of the workgroup calls it (it has barriers).
void reduce_channel(uint c) {
    uint t = gl_LocalInvocationID.x;
    uint per_channel = pc.n / pc.channels;

    // `precise`: reassociating (next - sum) - term would make the compensation 0.
    precise float sum = 0.0;
    precise float compensation = 0.0;  // Kahan: the low-order part lost by the last addition
    for (uint k = t; k < per_channel; k += gl_WorkGroupSize.x) {
        uint i = ((k / pc.inner) * pc.channels + c) * pc.inner + k % pc.inner;
        precise float term = act_prelu_weight_grad(x[i]) * dy[i] - compensation;
        precise float next = sum + term;
        // Once the sum is ±inf the compensation would be inf - inf = NaN; the sum is final then.
        compensation = isinf(next) ? 0.0 : (next - sum) - term;
        sum = next;
    }
    partial[t] = sum;
    barrier();

    // Fold the upper half of the `count` live partial sums onto the lower half until one is left;
    // works for any local size (an odd count leaves its middle element in place).
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) partial[t] += partial[t + upper];
        barrier();
        count = upper;
    }
    // No barrier needed before the next channel: after the last fold only thread 0 reads, and only
    // partial[0], which no other thread writes.
    if (t == 0u) dw[c] = partial[0];
}

void main() {
    for (uint c = gl_WorkGroupID.x; c < pc.channels; c += gl_NumWorkGroups.x) reduce_channel(c);
}
