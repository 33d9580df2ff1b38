#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// clip_grad_norm_total: total[0] = sqrt(Σ partial[0 .. count)), the global 2-norm of all gradients
// from the partial sums of g² that clip_grad_norm's first pass (reduce_all.comp, sum of squares)
// wrote per gradient tensor. One workgroup; thread t sums partials t, t + L,
// ... in order, then a fixed tree: deterministic.
//
// Bindings (set 0): 0 partial: count floats, read; 1 total: 1 float, written.
// Push constants:   count (number of partial sums).
// Specialization:   0 local size x (default 256; any size up to VKGRAD_MAX_LOCAL_SIZE).
// Dispatch exactly one workgroup.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint count; } pc;

layout(set = 0, binding = 0) readonly buffer Partial { float partial_in[]; };
layout(set = 0, binding = 1) writeonly buffer Total { float total[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared float partial[VKGRAD_MAX_LOCAL_SIZE];

void main() {
    uint t = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint k = t; k < pc.count; k += gl_WorkGroupSize.x) sum += partial_in[k];
    partial[t] = sum;
    barrier();
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) partial[t] += partial[t + upper];
        barrier();
        count = upper;
    }
    if (t == 0u) total[0] = sqrt(partial[0]);
}
