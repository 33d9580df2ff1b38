#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_normalize: the training-mode normalisation of SyncBatchNorm, with statistics combined
// outside the kernel (over every replica's rows). x, y: rows x channels, row-major; moments holds
// four rows of `channels` values: mean_hi, mean_lo (the mean as the unevaluated sum
// mean_hi + mean_lo), invstd = 1 / sqrt(var + eps) and the unbiased variance var_unbiased.
//   y[r, c] = ((x[r, c] - mean_hi[c]) - mean_lo[c]) * invstd[c] * gamma[c] + beta[c]
//   (gamma = 1, beta = 0 unless AFFINE), as batchnorm_forward.comp's y;
//   running_mean[c] = (1 - momentum) * running_mean[c] + momentum * (mean_hi[c] + mean_lo[c])
//   running_var[c]  = (1 - momentum) * running_var[c]  + momentum * var_unbiased[c]
// (the running statistics by the invocations that own an element of row 0).
//
// Bindings (set 0): 0 x: n = rows*channels floats, read; 1 moments: 4*channels, read; 2 gamma,
//   3 beta: channels, read; 4 running_mean, 5 running_var: channels, read+written; 6 y: n floats,
//   written. Without AFFINE, bindings 2 and 3 are bound but never read.
// Push constants:   n (element count), channels, momentum.
// Specialization:   0 local size x (default 256), 1 AFFINE. Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint n; uint channels; float momentum; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Moments { float moments[]; };
layout(set = 0, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 3) readonly buffer Beta { float beta[]; };
layout(set = 0, binding = 4) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 5) buffer RunningVar { float running_var[]; };
layout(set = 0, binding = 6) writeonly buffer Y { float y[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        uint c = i % pc.channels;
        float mean_hi = moments[c], mean_lo = moments[pc.channels + c];
        float v = ((x[i] - mean_hi) - mean_lo) * moments[2u * pc.channels + c];
        y[i] = AFFINE ? v * gamma[c] + beta[c] : v;
        if (i < pc.channels) {
            running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * (mean_hi + mean_lo);
            running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * moments[3u * pc.channels + c];
        }
    }
}
