#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward_sums_columns: batchnorm_backward_sums.comp (same results, see there) in the
// per-invocation layout of batchnorm_columns.glsl, for CPU devices: invocation q owns channels
// 4q .. 4q + 3 and reads its columns once (batchnorm_quad_passes.glsl's quad_dy_sums). No barriers.
// Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x, 1 dy: rows*channels, input; 2 moments: 4*channels
//   (mean_hi, mean_lo, invstd, var_unbiased), read; 3 sums: 2*channels, written.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 local size x, 1 unused, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
VKGRAD_INPUT(1, dy)
BATCHNORM_COLUMN_INPUT(dy)
layout(set = 0, binding = 2) readonly buffer Moments { float moments[]; };
BATCHNORM_CHANNEL_ROWS(moments)
layout(set = 0, binding = 3) writeonly buffer Sums { float sums[]; };

#define BATCHNORM_PASSES_DY
#include "batchnorm_quad_passes.glsl"

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        vec4 sum_dy, sum_dyx;
        quad_dy_sums(q, moments_quad(0u, q), moments_quad(1u, q), moments_quad(2u, q), sum_dy, sum_dyx);
        for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
            sums[4u * q + k] = sum_dy[k];
            sums[pc.channels + 4u * q + k] = sum_dyx[k];
        }
    }
}
