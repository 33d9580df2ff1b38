#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// linear_bias_grad_columns: linear_bias_grad.comp (db[j] = Σ_i dy[i, j]; overwrites db, or adds
// into it when ACCUMULATE) with one invocation per group of 4 columns instead of a workgroup of row
// slices, for CPU devices (lib/reduction_layout.hpp): each invocation adds its columns' rows in
// order, with no shared memory and no barriers. Deterministic. Any grid size works (grid-stride
// loop over the column groups).
//
// Bindings (set 0): 0 dy: M·N floats, input (texel_io.glsl); 1 db: N floats, written (read too when
//                   ACCUMULATE).
// Push constants:   M (rows), N (columns).
// Specialization:   0 local size x, 1 VEC_N (N % 4 == 0: a row's 4 columns are one aligned vec4).

#include "texel_io.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool VEC_N = false;
layout(constant_id = 2) const bool ACCUMULATE = false;

layout(push_constant) uniform Push { uint M; uint N; } pc;

VKGRAD_INPUT(0, dy)
layout(set = 0, binding = 1) buffer DB { float db[]; };

void main() {
    const uint quads = (pc.N + 3u) / 4u;
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint col = 4u * q;
        vec4 sum = vec4(0.0);
        if (VEC_N) {
            for (uint r = 0u; r < pc.M; ++r) sum += dy_load4((r * pc.N + col) / 4u);
        } else {
            for (uint r = 0u; r < pc.M; ++r)
                for (uint j = 0u; j < 4u; ++j)
                    if (col + j < pc.N) sum[j] += dy_load(r * pc.N + col + j);
        }
        for (uint j = 0u; j < 4u; ++j)
            if (col + j < pc.N) db[col + j] = ACCUMULATE ? db[col + j] + sum[j] : sum[j];
    }
}
