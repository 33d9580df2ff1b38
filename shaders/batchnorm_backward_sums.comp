#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward_sums: the per-channel sums of a training-mode BatchNorm backward over this
// replica's rows, which SyncBatchNorm's replicas add up before batchnorm_backward_apply.comp
// (batchnorm_passes.glsl's column_dy_sums, as batchnorm_backward.comp). With
// xhat = ((x - mean_hi) - mean_lo) * invstd from the combined statistics `moments`:
//   sums[c] = sum(dy), sums[channels + c] = sum(dy * xhat)            (OVERWRITTEN)
//
// One workgroup per tile of TX channels, or fewer looping over the tiles (see
// batchnorm_statistics.comp).
//
// Bindings (set 0): 0 x, 1 dy: rows*channels, read; 2 moments: 4*channels (mean_hi, mean_lo,
//   invstd, var_unbiased), read; 3 sums: 2*channels, written.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 TX (local size x), 1 TY (local size y); TX·TY at most VKGRAD_MAX_LOCAL_SIZE.

layout(local_size_x = 32, local_size_y = 8, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X, local_size_y_id = 1) in;

#include "batchnorm_reduce.glsl"

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer Moments { float moments[]; };
layout(set = 0, binding = 3) writeonly buffer Sums { float sums[]; };

#define BATCHNORM_PASSES_DY
#include "batchnorm_passes.glsl"

void channel_tile(uint c0) {
    uint c = c0 + gl_LocalInvocationID.x;
    bool in_range = c < pc.channels;  // the last tile may be partial; idle threads still join barriers
    float mean_hi = in_range ? moments[c] : 0.0;
    float mean_lo = in_range ? moments[pc.channels + c] : 0.0;
    float invstd = in_range ? moments[2u * pc.channels + c] : 0.0;
    float sum_dy, sum_dyx;
    column_dy_sums(c, in_range, mean_hi, mean_lo, invstd, sum_dy, sum_dyx);
    if (in_range && gl_LocalInvocationID.y == 0u) {
        sums[c] = sum_dy;
        sums[pc.channels + c] = sum_dyx;
    }
}

void main() {
    // ceil(channels / TX) without overflow for channels near 2^32.
    const uint tiles = pc.channels / gl_WorkGroupSize.x + uint(pc.channels % gl_WorkGroupSize.x != 0u);
    for (uint tile = gl_WorkGroupID.x; tile < tiles; tile += gl_NumWorkGroups.x)
        channel_tile(tile * gl_WorkGroupSize.x);
}
