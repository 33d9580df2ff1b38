#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_statistics: the per-channel statistics of a training batch x (rows x channels,
// row-major) that SyncBatchNorm's replicas combine (lib/batchnorm_sync.cpp), with
// batchnorm_forward.comp's stable two-pass sums (batchnorm_passes.glsl's column_moments):
//   statistics[c]                = mean_hi = sum(x) / rows                       (row 0)
//   statistics[channels + c]     = mean_lo = sum(x - mean_hi) / rows             (row 1)
//   statistics[2 * channels + c] = m2 = sum((x - mean)^2)                        (row 2)
// with mean = mean_hi + mean_lo, an unevaluated sum that keeps the digits a rounded float mean would
// lose for x = 1e4 + noise. m2 = sum(d^2) - sum(d) * mean_lo (d = x - mean_hi), never negative. A
// channel holding ±inf has mean_hi ±inf and mean_lo 0 (mean ±inf, as a plain sum gives) and m2 NaN;
// a NaN makes all three NaN.
//
// One workgroup per tile of TX channels (see batchnorm_reduce.glsl): dispatch ceil(channels / TX)
// workgroups, or fewer (the device's workgroup-count limit): workgroup g then handles tiles g,
// g + G, g + 2G, ... (G = gl_NumWorkGroups.x), the same tile count for all its invocations, so
// the barriers stay in uniform control flow.
//
// Bindings (set 0): 0 x: rows*channels, read; 1 statistics: 3*channels, written.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 TX (local size x), 1 TY (local size y); TX·TY at most VKGRAD_MAX_LOCAL_SIZE.

layout(local_size_x = 32, local_size_y = 8, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X, local_size_y_id = 1) in;

#include "batchnorm_reduce.glsl"

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Statistics { float statistics[]; };

#include "batchnorm_passes.glsl"

void channel_tile(uint c0) {
    uint c = c0 + gl_LocalInvocationID.x;
    bool in_range = c < pc.channels;  // the last tile may be partial; idle threads still join barriers
    float mean0, sum_d, sum_d2;
    column_moments(c, in_range, mean0, sum_d, sum_d2);
    if (in_range && gl_LocalInvocationID.y == 0u) {
        float shift = sum_d / float(pc.rows);
        float m2 = sum_d2 - sum_d * shift;
        if (m2 < 0.0) m2 = 0.0;  // not max(): that may drop a NaN
        statistics[c] = mean0;
        statistics[pc.channels + c] = isinf(mean0) ? 0.0 : shift;
        statistics[2u * pc.channels + c] = m2;
    }
}

void main() {
    // ceil(channels / TX) without overflow for channels near 2^32.
    const uint tiles = pc.channels / gl_WorkGroupSize.x + uint(pc.channels % gl_WorkGroupSize.x != 0u);
    for (uint tile = gl_WorkGroupID.x; tile < tiles; tile += gl_NumWorkGroups.x)
        channel_tile(tile * gl_WorkGroupSize.x);
}
