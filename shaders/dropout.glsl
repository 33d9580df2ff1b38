// dropout.glsl — the body of dropout.comp and dropout_counter.comp.
//
// dropout: y[i] = x[i] * (keep(i) ? scale : 0), inverted dropout; the same shader is the backward
// pass (dx[i] = dy[i] * (keep(i) ? scale : 0)), because the mask is regenerated, not stored.
//
// The mask: element i uses word (i & 3) of philox4x32_10(counter = (i >> 2, 0, step, 0),
// key = (seed_lo, seed_hi)); it is kept when that word's top 24 bits are >= drop_threshold, where
// drop_threshold = round(p * 2^24) (so p = 1 gives 2^24: nothing kept). One thread computes one
// Philox block of 4 consecutive elements (each element of the tail recomputes its block), so
// the mask depends only on (seed, step, i), never on the local size or the dispatch order. Exact integer comparison: the C++ reference reproduces the mask
// bit for bit. Multiplying by 0 (not selecting 0) keeps PyTorch's behaviour: a dropped NaN or inf
// gives NaN.
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, written.
// Push constants:   n, seed_lo, seed_hi, step, drop_threshold (0 .. 2^24), scale (1 / (1 - p); 0 when p = 1).
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop over VKGRAD_STEP_GROUPS blocks of 4 elements per step;
// texel_io.glsl).
//
// With DROPOUT_STEP_COUNTER defined (dropout_counter.comp) the step is read on the device:
// step = counter[0] + push step, from binding 2 (1 int, read), so a replayed command list draws a
// new mask whenever the counter has been advanced (see DropoutOptions::step_counter).

#ifndef VKGRAD_DROPOUT_GLSL
#define VKGRAD_DROPOUT_GLSL

#include "philox.glsl"

#include "spec_ids.h"
layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push {
    uint n;
    uint seed_lo;
    uint seed_hi;
    uint step;
    uint drop_threshold;
    float scale;
} pc;

// x and y through texel_io.glsl, which the includer includes first (storage buffers, or a texel
// buffer in and 64-bit words out in the _texel build).
VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

#ifdef DROPOUT_STEP_COUNTER
layout(set = 0, binding = 2) readonly buffer Counter { int counter[]; };
#endif

// The scale of each element of Philox block b: scale where kept, 0 where dropped.
vec4 block_scales(uint b, uint step) {
    uvec4 bits = philox4x32_10(uvec4(b, 0u, step, 0u), uvec2(pc.seed_lo, pc.seed_hi));
    return vec4(greaterThanEqual(bits >> 8, uvec4(pc.drop_threshold))) * pc.scale;
}

void main() {
#ifdef DROPOUT_STEP_COUNTER
    const uint step = uint(counter[0]) + pc.step;
#else
    const uint step = pc.step;
#endif
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // VKGRAD_STEP_GROUPS whole blocks per step in a do-while loop, and the rest in a loop of its own
    // rather than a branch inside the main loop: llvmpipe runs both sides of a branch under lane
    // masks (the per-element side cost 4 texel fetches and 4 store loops per block), and runs a for
    // loop's body once more with all lanes off before leaving it (see activation_forward.comp).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) r[h] = x_load4(s * G + h) * block_scales(s * G + h, step);
            y_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        y_store(i, x_load(i) * block_scales(i >> 2u, step)[i & 3u]);
    }
}

#endif
