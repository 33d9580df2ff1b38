#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward_columns: batchnorm_backward.comp (same results, see there for the formulas) in
// the per-invocation layout of batchnorm_columns.glsl, for CPU devices: invocation q owns channels
// 4q .. 4q + 3 and reads its columns twice (the sums in row order with Kahan compensation, then dx).
// No barriers. dx, dgamma and dbeta are OVERWRITTEN.
// Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x, 1 dy: rows*channels, input; 2 save_mean,
//   3 save_invstd, 4 gamma: channels, input; 5 dx: rows*channels, output; 6 dgamma, 7 dbeta:
//   channels, written. Without AFFINE, bindings 4, 6 and 7 are bound but never accessed.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 local size x, 1 AFFINE, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
VKGRAD_INPUT(1, dy)
BATCHNORM_COLUMN_INPUT(dy)
VKGRAD_INPUT(2, save_mean)
BATCHNORM_COLUMN_INPUT(save_mean)
VKGRAD_INPUT(3, save_invstd)
BATCHNORM_COLUMN_INPUT(save_invstd)
VKGRAD_INPUT(4, gamma)
BATCHNORM_COLUMN_INPUT(gamma)
VKGRAD_OUTPUT(5, dx)
BATCHNORM_COLUMN_OUTPUT(dx)
layout(set = 0, binding = 6) writeonly buffer DGamma { float dgamma[]; };
layout(set = 0, binding = 7) writeonly buffer DBeta { float dbeta[]; };

#define BATCHNORM_PASSES_DY
#include "batchnorm_quad_passes.glsl"

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    const float n = float(pc.rows);
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const vec4 mean = save_mean_channels(q);
        const vec4 invstd = save_invstd_channels(q);
        vec4 sum_dy, sum_dyx;
        quad_dy_sums(q, mean, vec4(0.0), invstd, sum_dy, sum_dyx);
        if (AFFINE) {
            for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
                dgamma[4u * q + k] = sum_dyx[k];
                dbeta[4u * q + k] = sum_dy[k];
            }
        }
        const vec4 mean_dy = sum_dy / n;
        const vec4 mean_dyx = sum_dyx / n;
        const vec4 scale = (AFFINE ? gamma_channels(q) : vec4(1.0)) * invstd;
        for (uint r = 0u; r < pc.rows; ++r) {
            const vec4 xhat = (x_row(r, q) - mean) * invstd;
            const vec4 v = scale * ((dy_row(r, q) - mean_dy) - xhat * mean_dyx);
            dx_store_row(r, q, v);
        }
    }
}
