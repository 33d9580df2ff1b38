#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward_apply_columns: batchnorm_backward_apply.comp (same formulas, see there) in the
// per-invocation layout of batchnorm_columns.glsl, for CPU devices: invocation q owns channels
// 4q .. 4q + 3, reads their moments and sums once and walks the rows, a quad of a row per vec4
// (texel loads in the _texel build). dx, dgamma and dbeta are OVERWRITTEN.
// Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x, 1 dy: rows*channels, input; 2 moments: 4*channels,
//   3 global_sums, 4 local_sums: 2*channels, read; 5 gamma: channels, input; 6 dx: rows*channels,
//   output; 7 dgamma, 8 dbeta: channels, written. Without AFFINE, bindings 4, 5, 7 and 8 are bound
//   but never accessed.
// Push constants:   rows, channels, count (rows over every replica, as a float).
// Specialization:   0 local size x, 1 AFFINE, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint rows; uint channels; float count; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
VKGRAD_INPUT(1, dy)
BATCHNORM_COLUMN_INPUT(dy)
layout(set = 0, binding = 2) readonly buffer Moments { float moments[]; };
BATCHNORM_CHANNEL_ROWS(moments)
layout(set = 0, binding = 3) readonly buffer GlobalSums { float global_sums[]; };
BATCHNORM_CHANNEL_ROWS(global_sums)
layout(set = 0, binding = 4) readonly buffer LocalSums { float local_sums[]; };
VKGRAD_INPUT(5, gamma)
BATCHNORM_COLUMN_INPUT(gamma)
VKGRAD_OUTPUT(6, dx)
BATCHNORM_COLUMN_OUTPUT(dx)
layout(set = 0, binding = 7) writeonly buffer DGamma { float dgamma[]; };
layout(set = 0, binding = 8) writeonly buffer DBeta { float dbeta[]; };

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const vec4 mean_hi = moments_quad(0u, q), mean_lo = moments_quad(1u, q), invstd = moments_quad(2u, q);
        const vec4 mean_dy = global_sums_quad(0u, q) / pc.count;
        const vec4 mean_dyx = global_sums_quad(1u, q) / pc.count;
        const vec4 scale = (AFFINE ? gamma_channels(q) : vec4(1.0)) * invstd;
        if (AFFINE) {
            for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
                dgamma[4u * q + k] = local_sums[pc.channels + 4u * q + k];
                dbeta[4u * q + k] = local_sums[4u * q + k];
            }
        }
        for (uint r = 0u; r < pc.rows; ++r) {
            const vec4 xhat = ((x_row(r, q) - mean_hi) - mean_lo) * invstd;
            dx_store_row(r, q, scale * ((dy_row(r, q) - mean_dy) - xhat * mean_dyx));
        }
    }
}
