#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_forward_columns: batchnorm_forward.comp (same results, see there for the formulas and the
// stable two-pass statistics) in the per-invocation layout of batchnorm_columns.glsl, for CPU
// devices: invocation q owns channels 4q .. 4q + 3 and reads its columns three times (the sum, the
// deviations, y), each channel's sums in row order with Kahan compensation. No barriers.
// Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x: rows*channels, input; 1 gamma, 2 beta: channels,
//   input; 3 running_mean, 4 running_var: channels, read+written; 5 save_mean, 6 save_invstd:
//   channels, written; 7 y: rows*channels, output. Without AFFINE, bindings 1 and 2 are bound but
//   never read.
// Push constants:   rows (>= 2), channels, eps, momentum.
// Specialization:   0 local size x, 1 AFFINE, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint rows; uint channels; float eps; float momentum; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
VKGRAD_INPUT(1, gamma)
BATCHNORM_COLUMN_INPUT(gamma)
VKGRAD_INPUT(2, beta)
BATCHNORM_COLUMN_INPUT(beta)
layout(set = 0, binding = 3) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 4) buffer RunningVar { float running_var[]; };
layout(set = 0, binding = 5) writeonly buffer SaveMean { float save_mean[]; };
layout(set = 0, binding = 6) writeonly buffer SaveInvstd { float save_invstd[]; };
VKGRAD_OUTPUT(7, y)
BATCHNORM_COLUMN_OUTPUT(y)

#include "batchnorm_quad_passes.glsl"

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    const float n = float(pc.rows);
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        vec4 mean0, sum_d, sum_d2;
        quad_moments(q, mean0, sum_d, sum_d2);
        const vec4 shift = sum_d / n;
        vec4 var = sum_d2 / n - shift * shift;
        var = mix(var, vec4(0.0), lessThan(var, vec4(0.0)));  // a select, not max(): keeps a NaN
        const vec4 invstd = 1.0 / sqrt(var + pc.eps);
        const vec4 g = AFFINE ? gamma_channels(q) : vec4(1.0);
        const vec4 b = AFFINE ? beta_channels(q) : vec4(0.0);

        // A channel holding ±inf has mean ±inf (as a plain sum gives), not inf + (inf - inf) = NaN.
        const vec4 mean = mix(mean0 + shift, mean0, isinf(mean0));
        const vec4 var_unbiased = var * (n / (n - 1.0));
        for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
            const uint c = 4u * q + k;
            save_mean[c] = mean[k];
            save_invstd[c] = invstd[k];
            running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * mean[k];
            running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * var_unbiased[k];
        }
        for (uint r = 0u; r < pc.rows; ++r) {
            const vec4 v = ((x_row(r, q) - mean0) - shift) * invstd * g + b;
            y_store_row(r, q, v);
        }
    }
}
