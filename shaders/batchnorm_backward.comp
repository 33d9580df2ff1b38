#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward: gradients of training-mode BatchNorm1d (batchnorm_forward.comp) on
// x (rows x channels, row-major), from the mean and invstd that the forward pass saved. Per channel c,
// with xhat = (x - mean) * invstd and sums over the rows:
//   dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy)                       (OVERWRITTEN; only AFFINE)
//   dx = gamma[c] * invstd * (dy - sum(dy) / rows - xhat * sum(dy * xhat) / rows)
// which is gamma * invstd / N * (N dy - sum(dy) - xhat sum(dy xhat)) written without the
// cancellation of the large N dy terms.
//
// One workgroup per tile of TX channels (see batchnorm_reduce.glsl): dispatch ceil(channels / TX)
// workgroups, or fewer (the device's workgroup-count limit): workgroup g then handles tiles g,
// g + G, g + 2G, ... (G = gl_NumWorkGroups.x), the same tile count for all its invocations, so
// the barriers stay in uniform control flow. Each reads its columns twice: the sums, then dx.
//
// Bindings (set 0): 0 x, 1 dy: rows*channels, read; 2 save_mean, 3 save_invstd, 4 gamma: channels,
//   read; 5 dx: rows*channels, written; 6 dgamma, 7 dbeta: channels, written. Without AFFINE,
//   bindings 4, 6 and 7 are bound but never accessed.
// Push constants:   rows (>= 1), channels.
// Specialization:   0 TX (local size x), 1 TY (local size y), 2 AFFINE; TX·TY at most
//                   VKGRAD_MAX_LOCAL_SIZE.

layout(local_size_x = 32, local_size_y = 8, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X, local_size_y_id = 1) in;
layout(constant_id = 2) const bool AFFINE = true;

#include "batchnorm_reduce.glsl"

layout(push_constant) uniform Push { uint rows; uint channels; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer SaveMean { float save_mean[]; };
layout(set = 0, binding = 3) readonly buffer SaveInvstd { float save_invstd[]; };
layout(set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 5) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 6) writeonly buffer DGamma { float dgamma[]; };
layout(set = 0, binding = 7) writeonly buffer DBeta { float dbeta[]; };

#define BATCHNORM_PASSES_DY
#include "batchnorm_passes.glsl"

// The tile of channels that starts at channel c0; every invocation of the workgroup calls it.
void channel_tile(uint c0) {
    uint c = c0 + gl_LocalInvocationID.x;
    bool in_range = c < pc.channels;  // the last tile may be partial; idle threads still join barriers
    float mean = in_range ? save_mean[c] : 0.0;
    float invstd = in_range ? save_invstd[c] : 0.0;

    float sum_dy, sum_dyx;
    column_dy_sums(c, in_range, mean, 0.0, invstd, sum_dy, sum_dyx);

    if (AFFINE && in_range && gl_LocalInvocationID.y == 0u) {
        dgamma[c] = sum_dyx;
        dbeta[c] = sum_dy;
    }
    if (in_range) {
        float n = float(pc.rows);
        float mean_dy = sum_dy / n;
        float mean_dyx = sum_dyx / n;
        float scale = (AFFINE ? gamma[c] : 1.0) * invstd;
        for (uint r = gl_LocalInvocationID.y; r < pc.rows; r += gl_WorkGroupSize.y) {
            uint i = r * pc.channels + c;
            float xhat = (x[i] - mean) * invstd;
            dx[i] = scale * ((dy[i] - mean_dy) - xhat * mean_dyx);
        }
    }
}

void main() {
    // ceil(channels / TX) without overflow for channels near 2^32.
    const uint tiles = pc.channels / gl_WorkGroupSize.x + uint(pc.channels % gl_WorkGroupSize.x != 0u);
    for (uint tile = gl_WorkGroupID.x; tile < tiles; tile += gl_NumWorkGroups.x)
        channel_tile(tile * gl_WorkGroupSize.x);
}
