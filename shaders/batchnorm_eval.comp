#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// batchnorm_eval: BatchNorm1d in evaluation mode on x (rows x channels, row-major): the running
// statistics stand in for the batch's, nothing is updated.
//   y[r, c] = (x[r, c] - running_mean[c]) / sqrt(running_var[c] + eps) * gamma[c] + beta[c]
// (gamma = 1, beta = 0 unless AFFINE).
//
// Bindings (set 0): 0 x: n = rows*channels floats, read; 1 gamma, 2 beta, 3 running_mean,
//   4 running_var: channels floats, read; 5 y: n floats, written. Without AFFINE, bindings 1 and 2
//   are bound but never read.
// Push constants:   n (element count), channels, eps.
// Specialization:   0 local size x (default 256), 1 AFFINE. Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool AFFINE = true;

layout(push_constant) uniform Push { uint n; uint channels; float eps; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 2) readonly buffer Beta { float beta[]; };
layout(set = 0, binding = 3) readonly buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 4) readonly buffer RunningVar { float running_var[]; };
layout(set = 0, binding = 5) writeonly buffer Y { float y[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        uint c = i % pc.channels;
        float invstd = 1.0 / sqrt(running_var[c] + pc.eps);
        float v = (x[i] - running_mean[c]) * invstd;
        y[i] = AFFINE ? v * gamma[c] + beta[c] : v;
    }
}
