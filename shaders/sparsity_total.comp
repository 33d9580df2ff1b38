#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// sparsity_total: second pass of ActivationSparsity. Sums sparsity_partial's per-chunk counts:
//   result[2 + c] = 1 if feature c is zero in all `rows` rows else 0 (the "dead" flag)
//   result[0] = total zero count, result[1] = total |y| <= eps count (uint bit patterns)
// One workgroup; integer sums, so the result does not depend on the order.
//
// Bindings (set 0): 0 partial: row_chunks·features·2 uints, read; 1 result: 2 + features ints,
//                   written.
// Push constants:   rows, features, row_chunks.
// Specialization:   0 local size x (default 256; any size up to VKGRAD_MAX_LOCAL_SIZE).
// Dispatch exactly one workgroup.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint features; uint row_chunks; } pc;

layout(set = 0, binding = 0) readonly buffer Partial { uint partial[]; };
layout(set = 0, binding = 1) writeonly buffer Result { uint result[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared uint zeros_sum[VKGRAD_MAX_LOCAL_SIZE];
shared uint near_sum[VKGRAD_MAX_LOCAL_SIZE];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint zeros_total = 0u, near_total = 0u;
    for (uint c = t; c < pc.features; c += gl_WorkGroupSize.x) {
        uint zeros = 0u, near = 0u;
        for (uint r = 0u; r < pc.row_chunks; ++r) {
            uint slot = (r * pc.features + c) * 2u;
            zeros += partial[slot];
            near += partial[slot + 1u];
        }
        result[2u + c] = zeros == pc.rows ? 1u : 0u;
        zeros_total += zeros;
        near_total += near;
    }
    zeros_sum[t] = zeros_total;
    near_sum[t] = near_total;
    barrier();
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) {
            zeros_sum[t] += zeros_sum[t + upper];
            near_sum[t] += near_sum[t + upper];
        }
        barrier();
        count = upper;
    }
    if (t == 0u) {
        result[0] = zeros_sum[0];
        result[1] = near_sum[0];
    }
}
