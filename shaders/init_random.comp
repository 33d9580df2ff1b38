#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// init_random: fills a tensor with seeded random numbers (torch.nn.init.uniform_ / normal_ and
// everything built on them):
//   DIST 0 (uniform): x[i] = clamp(a + (b − a)·u, a, b), u in [0, 1) with 24 random bits. The
//                     clamp keeps float rounding of a + (b − a)·u from leaving [a, b].
//   DIST 1 (normal):  x[i] = mean + std·z, z standard normal by Box–Muller:
//                     z = sqrt(−2 ln u1)·cos(π(2 u2 − 1)), u1 in (0, 1], u2 in [0, 1) (|z| <= 5.77);
//                     the angle stays in [−π, π), where Vulkan bounds cos's error (2^-11 absolute).
// The bits of element i are Philox4x32-10 of counter (i, 0, 0, 0) under key (seed_lo, seed_hi)
// (init_rng.glsl): the same seed gives the same tensor on any device and any grid size.
//
// Bindings (set 0): 0 x: n floats, written (texel_io.glsl: as 64-bit words in the _texel build).
// Push constants:   n, seed_lo, seed_hi, p0, p1 (a, b for uniform; mean, std for normal).
// Specialization:   0 local size x (default 256), 1 DIST.
// Any grid size works (grid-stride loop): each invocation writes VKGRAD_STEP_GROUPS groups of 4
// adjacent elements per step (one store; texel_io.glsl), then the tail one by one; each element's
// value depends only on i.

#include "texel_io.glsl"
#include "init_rng.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint DIST = 0;

layout(push_constant) uniform Push { uint n; uint seed_lo; uint seed_hi; float p0; float p1; } pc;

VKGRAD_OUTPUT(0, x)

const float PI = 3.14159265358979323846;

float sample_at(uint i, uvec2 key) {
    uvec4 bits = philox4x32_10(uvec4(i, 0u, 0u, 0u), key);
    if (DIST == 0u) {
        float v = pc.p0 + (pc.p1 - pc.p0) * rng_unit_open_high(bits.x);
        return min(max(v, pc.p0), pc.p1);
    }
    float radius = sqrt(-2.0 * log(rng_unit_open_low(bits.x)));
    return pc.p0 + pc.p1 * (radius * cos(PI * (2.0 * rng_unit_open_high(bits.y) - 1.0)));
}

void main() {
    const uvec2 key = uvec2(pc.seed_lo, pc.seed_hi);
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) {
                const uint i = 4u * (s * G + h);
                r[h] = vec4(sample_at(i, key), sample_at(i + 1u, key), sample_at(i + 2u, key), sample_at(i + 3u, key));
            }
            x_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) x_store(i, sample_at(i, key));
}
