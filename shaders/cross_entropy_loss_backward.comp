#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// cross_entropy_loss_backward: the logits gradient of cross_entropy_loss_forward (summed or averaged
// over rows), with an upstream gradient of 1 on the loss:
//   dx_j = (softmax(x)_j - (1 - eps) [j == label] - eps / cols) * scale
//   scale = 1 / status[2] (the non-ignored row count) for REDUCTION_MEAN = 1, else 1,
//   times the push constant grad_scale (the upstream gradient dloss when it is known on the host).
// Ignored rows get 0; rows with an out-of-range label or a non-finite maximum get NaN.
// dx is OVERWRITTEN.
//
// One workgroup per row, grid-striding over rows.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 labels: rows ints, read; 2 status: 4 ints, read
//                   (written by class_loss_labels.comp); 3 dx: rows*cols floats, written.
// Push constants:   rows, cols, ignore_index (int), label_smoothing, grad_scale.
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE); 1 REDUCTION_MEAN (0 or 1).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint REDUCTION_MEAN = 0;

layout(push_constant) uniform Push {
    uint rows; uint cols; int ignore_index; float label_smoothing; float grad_scale;
} pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 2) readonly buffer Status { int status[]; };
layout(set = 0, binding = 3) writeonly buffer DX { float dx[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    float scale = pc.grad_scale;
    if (REDUCTION_MEAN != 0u) scale /= float(max(status[2], 1));  // count 0: every row is ignored
    float eps = pc.label_smoothing;
    float off_label = eps / float(pc.cols);
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * pc.cols;
        int label = labels[row];  // uniform over the workgroup, as is m below
        if (label == pc.ignore_index) {
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) dx[base + k] = 0.0;
            continue;
        }
        float m = -math_inf();
        if (label >= 0 && label < int(pc.cols)) {
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) m = max_propagate_nan(m, x[base + k]);
            m = workgroup_max(m);
        }
        if (isnan(m) || isinf(m)) {  // also a bad label, which left m at -inf
            float fill = isnan(m) ? m : math_nan();
            for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) dx[base + k] = fill;
            continue;
        }
        float s = 0.0;
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) s += math_exp(x[base + k] - m);
        s = workgroup_sum(s);
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
            float target = off_label + (int(k) == label ? 1.0 - eps : 0.0);
            dx[base + k] = (math_exp(x[base + k] - m) / s - target) * scale;
        }
    }
}
