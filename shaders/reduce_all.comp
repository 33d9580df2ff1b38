#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_all: out[g] = scale * (the reduction of the elements of x assigned to workgroup g), with
// OP 0 sum, 1 sum of squares, 2 max (NaN propagates, as torch.max). The elements go in groups of 4
// (quads): workgroup g, invocation t takes quads (k G + g) L + t for k = 0, 1, ... (G groups of L
// invocations) and the 4 elements of each in order, sums with Kahan compensation, then the
// workgroup combines its partial results in a fixed tree. Run twice — n elements into G partials,
// then the G partials into 1 with one workgroup (OP 1 becomes 0 there) — for a deterministic
// total: the assignment depends only on n, G and L, never on timing. No atomics.
// Why quads: a 16-byte load per 4 elements (a texel fetch in the _texel build, texel_io.glsl) where
// llvmpipe made every float load a loop over the lanes.
//
// Bindings (set 0): 0 x: n floats, read; 1 out: floats, written at [offset, offset + workgroups).
// Push constants:   n, scale (applied to each workgroup's result), offset (the first slot of out:
//                   clip_grad_norm puts the partial sums of several tensors in one workspace).
// Specialization:   0 local size x (at most VKGRAD_MAX_LOCAL_SIZE); 1 OP (0 sum, 1 sum of squares, 2 max).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint n; float scale; uint offset; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) writeonly buffer Out { float partial_out[]; };

#include "reduce_workgroup.glsl"

// Elements 4q .. 4q + 3 of x; those at or past n are never used. A texel buffer always holds the
// whole last quad (the host pads buffers to 16 bytes for it); a storage buffer need not.
vec4 load_quad(uint q) {
    if (VKGRAD_TEXEL != 0 || 4u * q + 3u < pc.n) return x_load4(q);
    vec4 v = vec4(0.0);
    for (uint c = 0u; c < 4u; ++c)
        if (4u * q + c < pc.n) v[c] = x_load(4u * q + c);
    return v;
}

void main() {
    uint t = gl_LocalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint quads = (pc.n + 3u) / 4u;
    float result;
    if (OP == 2u) {
        float m = -math_inf();
        for (uint q = gl_GlobalInvocationID.x; q < quads; q += stride) {
            const vec4 v = load_quad(q);
            for (uint c = 0u; c < 4u; ++c)
                if (4u * q + c < pc.n) m = max_propagate_nan(m, v[c]);
        }
        result = workgroup_max(m);
    } else {
        // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
        precise float sum = 0.0, compensation = 0.0;
        for (uint q = gl_GlobalInvocationID.x; q < quads; q += stride) {
            const vec4 v = load_quad(q);
            for (uint c = 0u; c < 4u; ++c) {
                if (4u * q + c < pc.n) {
                    float term = (OP == 1u ? v[c] * v[c] : v[c]) - compensation;
                    float next = sum + term;
                    compensation = isinf(next) ? 0.0 : (next - sum) - term;  // inf - inf would poison the sum
                    sum = next;
                }
            }
        }
        result = workgroup_sum(sum);
    }
    if (t == 0u) partial_out[pc.offset + gl_WorkGroupID.x] = result * pc.scale;
}
