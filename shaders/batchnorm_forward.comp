#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_forward: BatchNorm1d in training mode on x (rows x channels, row-major), PyTorch
// semantics. Per channel c, over the rows: mean, biased variance var, invstd = 1 / sqrt(var + eps);
//   y[r, c] = (x[r, c] - mean) * invstd * gamma[c] + beta[c]     (gamma = 1, beta = 0 unless AFFINE)
//   save_mean[c] = mean, save_invstd[c] = invstd                (for batchnorm_backward)
//   running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
//   running_var[c]  = (1 - momentum) * running_var[c]  + momentum * var * rows / (rows - 1)
// Stable two-pass statistics (batchnorm_passes.glsl's column_moments): mean0 = sum(x) / rows, then the
// sums of d = x - mean0 and d^2 give mean = mean0 + sum(d) / rows and var = sum(d^2) / rows - (sum(d) / rows)^2. y uses
// (x - mean0) - sum(d) / rows, which keeps the digits a rounded float mean would lose for x = 1e4 + noise.
//
// One workgroup per tile of TX channels (see batchnorm_reduce.glsl): dispatch ceil(channels / TX)
// workgroups, or fewer (the device's workgroup-count limit): workgroup g then handles tiles g,
// g + G, g + 2G, ... (G = gl_NumWorkGroups.x), the same tile count for all its invocations, so
// the barriers stay in uniform control flow. The workgroup reads its columns three times and owns
// them entirely: no other pass.
//
// Bindings (set 0): 0 x: rows*channels, read; 1 gamma: channels, read; 2 beta: channels, read;
//   3 running_mean: channels, read+written; 4 running_var: channels, read+written;
//   5 save_mean: channels, written; 6 save_invstd: channels, written; 7 y: rows*channels, written.
//   Without AFFINE, bindings 1 and 2 are bound but never read.
// Push constants:   rows (>= 2), channels, eps, momentum.
// Specialization:   0 TX (local size x), 1 TY (local size y), 2 AFFINE; TX·TY at most
//                   VKGRAD_MAX_LOCAL_SIZE.

layout(local_size_x = 32, local_size_y = 8, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X, local_size_y_id = 1) in;
layout(constant_id = 2) const bool AFFINE = true;

#include "batchnorm_reduce.glsl"

layout(push_constant) uniform Push { uint rows; uint channels; float eps; float momentum; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 2) readonly buffer Beta { float beta[]; };
layout(set = 0, binding = 3) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 4) buffer RunningVar { float running_var[]; };
layout(set = 0, binding = 5) writeonly buffer SaveMean { float save_mean[]; };
layout(set = 0, binding = 6) writeonly buffer SaveInvstd { float save_invstd[]; };
layout(set = 0, binding = 7) writeonly buffer Y { float y[]; };

#include "batchnorm_passes.glsl"

// The tile of channels that starts at channel c0; every invocation of the workgroup calls it.
void channel_tile(uint c0) {
    uint c = c0 + gl_LocalInvocationID.x;
    bool in_range = c < pc.channels;  // the last tile may be partial; idle threads still join barriers
    float n = float(pc.rows);

    float mean0, sum_d, sum_d2;
    column_moments(c, in_range, mean0, sum_d, sum_d2);
    float shift = sum_d / n;
    float var = sum_d2 / n - shift * shift;
    if (var < 0.0) var = 0.0;  // not max(): that may drop a NaN
    float invstd = 1.0 / sqrt(var + pc.eps);
    float g = AFFINE && in_range ? gamma[c] : 1.0;
    float b = AFFINE && in_range ? beta[c] : 0.0;

    if (in_range && gl_LocalInvocationID.y == 0u) {
        // A channel holding ±inf has mean ±inf (as a plain sum gives), not inf + (inf - inf) = NaN.
        float mean = isinf(mean0) ? mean0 : mean0 + shift;
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * mean;
        running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * (var * (n / (n - 1.0)));
    }
    if (in_range) {
        for (uint r = gl_LocalInvocationID.y; r < pc.rows; r += gl_WorkGroupSize.y) {
            uint i = r * pc.channels + c;
            y[i] = ((x[i] - mean0) - shift) * invstd * g + b;
        }
    }
}

void main() {
    // ceil(channels / TX) without overflow for channels near 2^32.
    const uint tiles = pc.channels / gl_WorkGroupSize.x + uint(pc.channels % gl_WorkGroupSize.x != 0u);
    for (uint tile = gl_WorkGroupID.x; tile < tiles; tile += gl_NumWorkGroups.x)
        channel_tile(tile * gl_WorkGroupSize.x);
}
