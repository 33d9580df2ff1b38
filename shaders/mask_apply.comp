#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// mask_apply: for every element with mask[i] == 0 (+0 or −0), sets target[i] = +0 in each of
// TARGETS tensors, in place; elsewhere the target keeps its bits. A select, not a product, so a
// NaN or inf in a pruned position becomes +0 and a NaN in a kept one stays NaN. A NaN mask value
// keeps the element (NaN == 0 is false).
//
// Bindings (set 0): 0 mask: n floats, read; 1, 2, 3 targets 0, 1, 2: n floats each, read;
//                   4, 5, 6 the same targets, written. Each element is read and then written by
//                   one invocation only, so the two views of a target never race; they are separate
//                   bindings so that the _texel build (texel_io.glsl) can read through texel
//                   buffers, which are read-only. Targets TARGETS and above are neither read nor
//                   written (the host binds target 0 in their slots).
// Push constants:   n.
// Specialization:   0 local size x (default 256), 1 TARGETS (1 to 3).
// Any grid size works (grid-stride loop): VKGRAD_STEP_GROUPS groups of 4 elements per step
// (texel_io.glsl), then the tail one by one.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint TARGETS = 1;

layout(push_constant) uniform Push { uint n; } pc;

VKGRAD_INPUT(0, mask)
VKGRAD_INPUT(1, t0_in)
VKGRAD_INPUT(2, t1_in)
VKGRAD_INPUT(3, t2_in)
VKGRAD_OUTPUT(4, t0_out)
VKGRAD_OUTPUT(5, t1_out)
VKGRAD_OUTPUT(6, t2_out)

vec4 masked4(vec4 m, vec4 v) { return mix(v, vec4(0.0), equal(m, vec4(0.0))); }
float masked(float m, float v) { return m == 0.0 ? 0.0 : v; }

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 m[VKGRAD_STEP_GROUPS], r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) m[h] = mask_load4(s * G + h);
            for (uint h = 0u; h < G; ++h) r[h] = masked4(m[h], t0_in_load4(s * G + h));
            t0_out_store_step(s, r);
            if (TARGETS > 1u) {
                for (uint h = 0u; h < G; ++h) r[h] = masked4(m[h], t1_in_load4(s * G + h));
                t1_out_store_step(s, r);
            }
            if (TARGETS > 2u) {
                for (uint h = 0u; h < G; ++h) r[h] = masked4(m[h], t2_in_load4(s * G + h));
                t2_out_store_step(s, r);
            }
            s += stride;
        } while (s < steps);
    }
    uint i = 4u * G * steps + gl_GlobalInvocationID.x;
    if (i < pc.n) {
        do {
            const float m = mask_load(i);
            t0_out_store(i, masked(m, t0_in_load(i)));
            if (TARGETS > 1u) t1_out_store(i, masked(m, t1_in_load(i)));
            if (TARGETS > 2u) t2_out_store(i, masked(m, t2_in_load(i)));
            i += stride;
        } while (i < pc.n);
    }
}
