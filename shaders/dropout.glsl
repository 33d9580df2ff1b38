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
// bit for bit. With an element offset o, element i draws the mask of element o + i of a larger
// tensor (block (o + i) >> 2, word (o + i) & 3): a slice of a batch's rows (data-parallel replicas)
// gets exactly that slice of the whole batch's mask; o = 0 is the plain mask. Multiplying by 0 (not selecting 0) keeps PyTorch's behaviour: a dropped NaN or inf
// gives NaN.
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, written.
// Push constants:   n, seed_lo, seed_hi, step, drop_threshold (0 .. 2^24), scale (1 / (1 - p); 0 when p = 1),
//                   offset (the element offset o; o + n <= 2^32).
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
    uint offset;
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

// The scales of elements 4b .. 4b + 3 of this tensor, i.e. of elements o + 4b .. o + 4b + 3 of the
// whole one: one Philox block when o is a multiple of 4 (always so without an offset), else the
// words of two (o is a push constant, so every thread takes the same branch).
vec4 slice_scales(uint b, uint step) {
    const uint q = b + (pc.offset >> 2u), r = pc.offset & 3u;
    const vec4 lo = block_scales(q, step);
    if (r == 0u) return lo;
    const vec4 hi = block_scales(q + 1u, step);
    vec4 s;
    for (uint k = 0u; k < 4u; ++k) s[k] = k + r < 4u ? lo[k + r] : hi[k + r - 4u];
    return s;
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
            for (uint h = 0u; h < G; ++h) r[h] = x_load4(s * G + h) * slice_scales(s * G + h, step);
            y_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        const uint g = pc.offset + i;
        y_store(i, x_load(i) * block_scales(g >> 2u, step)[g & 3u]);
    }
}

#endif
