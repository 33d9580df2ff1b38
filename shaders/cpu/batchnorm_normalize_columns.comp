#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_normalize_columns: batchnorm_normalize.comp (same formulas, see there) in the
// per-invocation layout of batchnorm_columns.glsl, for CPU devices: invocation q owns channels
// 4q .. 4q + 3, reads their moments, gamma and beta once and walks the rows, a quad of a row per
// vec4 (texel loads in the _texel build); it updates its channels' running statistics.
// Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x: rows*channels, input; 1 moments: 4*channels, read;
//   2 gamma, 3 beta: channels, input; 4 running_mean, 5 running_var: channels, read+written;
//   6 y: rows*channels, output. Without AFFINE, bindings 2 and 3 are bound but never read.
// Push constants:   rows, channels, momentum.
// Specialization:   0 local size x, 1 AFFINE, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint rows; uint channels; float momentum; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
layout(set = 0, binding = 1) readonly buffer Moments { float moments[]; };
BATCHNORM_CHANNEL_ROWS(moments)
VKGRAD_INPUT(2, gamma)
BATCHNORM_COLUMN_INPUT(gamma)
VKGRAD_INPUT(3, beta)
BATCHNORM_COLUMN_INPUT(beta)
layout(set = 0, binding = 4) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 5) buffer RunningVar { float running_var[]; };
VKGRAD_OUTPUT(6, y)
BATCHNORM_COLUMN_OUTPUT(y)

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const vec4 mean_hi = moments_quad(0u, q), mean_lo = moments_quad(1u, q);
        const vec4 invstd = moments_quad(2u, q), var_unbiased = moments_quad(3u, q);
        const vec4 g = AFFINE ? gamma_channels(q) : vec4(1.0);
        const vec4 b = AFFINE ? beta_channels(q) : vec4(0.0);
        for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
            const uint c = 4u * q + k;
            running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * (mean_hi[k] + mean_lo[k]);
            running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * var_unbiased[k];
        }
        for (uint r = 0u; r < pc.rows; ++r) {
            const vec4 v = ((x_row(r, q) - mean_hi) - mean_lo) * invstd;
            y_store_row(r, q, AFFINE ? v * g + b : v);
        }
    }
}
