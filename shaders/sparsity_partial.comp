#version 450
// sparsity_partial: first pass of ActivationSparsity (include/vkgrad/sparsity.hpp). y is
// (rows × features) row-major. Workgroup (bx, r) covers features bx·L .. bx·L + L − 1 (one per
// thread, so neighbouring threads read neighbouring addresses) over the rows of chunk r
// (r·rows_per_chunk .. min(rows, (r + 1)·rows_per_chunk)), and writes per feature c:
//   partial[(r·features + c)·2 + 0] = count of y == 0    (−0 == 0 is true; NaN == 0 is false)
//   partial[(r·features + c)·2 + 1] = count of |y| <= eps (false for NaN)
// Integer counts: exact and order-independent. With QUADS (features % 4 == 0; what CPU devices
// run, lib/sparsity.cpp) each thread covers 4 neighbouring features through vec4 loads instead.
//
// Bindings (set 0): 0 y: rows·features floats, read (texel_io.glsl); 1 partial: uints, written.
// Push constants:   rows, features, rows_per_chunk, eps.
// Specialization:   0 local size x (default 256), 1 QUADS.
// Dispatch (ceil(features / L), row_chunks, 1), or ceil(features / 4L) with QUADS; fewer in x (the
// device's workgroup-count limit) makes each thread cover features c, c + S, c + 2S, ... (S = the
// grid's thread count along x).

#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool QUADS = false;

layout(push_constant) uniform Push { uint rows; uint features; uint rows_per_chunk; float eps; } pc;

VKGRAD_INPUT(0, y)
layout(set = 0, binding = 1) writeonly buffer Partial { uint partial[]; };

// Counts for the features of thread `g` (feature g, or with QUADS features 4g .. 4g + 3) over the
// rows of chunk r (begin .. end).
void count_features(uint g, uint r, uint begin, uint end) {
    if (QUADS) {
        const uint q = g;  // features 4q .. 4q + 3
        uvec4 zeros = uvec4(0u), near = uvec4(0u);
        for (uint row = begin; row < end; ++row) {
            const vec4 v = y_load4(row * (pc.features / 4u) + q);
            zeros += uvec4(equal(v, vec4(0.0)));
            near += uvec4(lessThanEqual(abs(v), vec4(pc.eps)));
        }
        for (uint k = 0u; k < 4u; ++k) {
            uint slot = (r * pc.features + 4u * q + k) * 2u;
            partial[slot] = zeros[k];
            partial[slot + 1u] = near[k];
        }
        return;
    }
    uint c = g;
    uint zeros = 0u, near = 0u;
    for (uint row = begin; row < end; ++row) {
        float v = y_load(row * pc.features + c);
        if (v == 0.0) ++zeros;
        if (abs(v) <= pc.eps) ++near;
    }
    uint slot = (r * pc.features + c) * 2u;
    partial[slot] = zeros;
    partial[slot + 1u] = near;
}

void main() {
    uint r = gl_WorkGroupID.y;
    uint begin = r * pc.rows_per_chunk;
    uint end = min(pc.rows, begin + pc.rows_per_chunk);
    const uint threads = QUADS ? pc.features / 4u : pc.features;
    for (uint g = gl_GlobalInvocationID.x; g < threads; g += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
        count_features(g, r, begin, end);
}
