#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_backward_apply: the input gradient of SyncBatchNorm (batchnorm_normalize.comp) from the
// sums over every replica's rows (global_sums, of batchnorm_backward_sums.comp added up) and their
// row count, as batchnorm_backward.comp's dx; and the weight and bias gradients of this replica's
// rows (local_sums: this replica's batchnorm_backward_sums.comp). With
// xhat = ((x - mean_hi) - mean_lo) * invstd, sum_dy = global_sums[c], sum_dyx = global_sums[channels + c]:
//   dx[r, c] = gamma[c] * invstd[c] * ((dy - sum_dy / count) - xhat * sum_dyx / count)   (OVERWRITTEN)
//   dgamma[c] = local_sums[channels + c], dbeta[c] = local_sums[c]       (OVERWRITTEN; only AFFINE)
//
// Bindings (set 0): 0 x, 1 dy: n = rows*channels floats, read; 2 moments: 4*channels (mean_hi,
//   mean_lo, invstd, var_unbiased), read; 3 global_sums, 4 local_sums: 2*channels, read; 5 gamma:
//   channels, read; 6 dx: n floats, written; 7 dgamma, 8 dbeta: channels, written. Without AFFINE,
//   bindings 4, 5, 7 and 8 are bound but never accessed.
// Push constants:   n (element count), channels, count (rows over every replica, as a float).
// Specialization:   0 local size x (default 256), 1 AFFINE. Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint n; uint channels; float count; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer Moments { float moments[]; };
layout(set = 0, binding = 3) readonly buffer GlobalSums { float global_sums[]; };
layout(set = 0, binding = 4) readonly buffer LocalSums { float local_sums[]; };
layout(set = 0, binding = 5) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 6) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 7) writeonly buffer DGamma { float dgamma[]; };
layout(set = 0, binding = 8) writeonly buffer DBeta { float dbeta[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        uint c = i % pc.channels;
        float invstd = moments[2u * pc.channels + c];
        float xhat = ((x[i] - moments[c]) - moments[pc.channels + c]) * invstd;
        float mean_dy = global_sums[c] / pc.count;
        float mean_dyx = global_sums[pc.channels + c] / pc.count;
        float scale = (AFFINE ? gamma[c] : 1.0) * invstd;
        dx[i] = scale * ((dy[i] - mean_dy) - xhat * mean_dyx);
        if (AFFINE && i < pc.channels) {
            dgamma[c] = local_sums[pc.channels + c];
            dbeta[c] = local_sums[c];
        }
    }
}
