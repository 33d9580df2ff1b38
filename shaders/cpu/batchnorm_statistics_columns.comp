#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_statistics_columns: batchnorm_statistics.comp (same results, see there for the layout of
// `statistics`) in the per-invocation layout of batchnorm_columns.glsl, for CPU devices: invocation q
// owns channels 4q .. 4q + 3 and reads its columns twice (batchnorm_quad_passes.glsl's quad_moments).
// No barriers. Dispatch ceil(ceil(channels / 4) / local size) workgroups or fewer (grid-stride loop
// over quads).
//
// Bindings (set 0), through texel_io.glsl: 0 x: rows*channels, input; 1 statistics: 3*channels,
//   written.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 local size x, 1 unused, 2 ALIGNED (channels % 4 == 0).

#include "texel_io.glsl"

layout(local_size_x = 16, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

#include "batchnorm_columns.glsl"

VKGRAD_INPUT(0, x)
BATCHNORM_COLUMN_INPUT(x)
layout(set = 0, binding = 1) writeonly buffer Statistics { float statistics[]; };

#include "batchnorm_quad_passes.glsl"

void main() {
    const uint quads = (pc.channels + 3u) / 4u;
    const float n = float(pc.rows);
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        vec4 mean0, sum_d, sum_d2;
        quad_moments(q, mean0, sum_d, sum_d2);
        const vec4 shift = sum_d / n;
        vec4 m2 = sum_d2 - sum_d * shift;
        m2 = mix(m2, vec4(0.0), lessThan(m2, vec4(0.0)));  // a select, not max(): keeps a NaN
        const vec4 lo = mix(shift, vec4(0.0), isinf(mean0));
        for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) {
            const uint c = 4u * q + k;
            statistics[c] = mean0[k];
            statistics[pc.channels + c] = lo[k];
            statistics[2u * pc.channels + c] = m2[k];
        }
    }
}
