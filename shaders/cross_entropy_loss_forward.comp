#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// cross_entropy_loss_forward: per-row cross-entropy of logits x (rows, cols) against integer labels,
// as torch.nn.functional.cross_entropy(..., reduction='none', ignore_index, label_smoothing = eps):
//   lse' = log sum_j e^(x_j - m)   (m = max_j x_j, so lse' >= 0)
//   loss = (1 - eps) (lse' - (x_label - m)) + eps (lse' - mean_j (x_j - m))
// Every term is >= 0, so nothing cancels even for logits of ±1e4 (lse - x_label would lose the
// result to the rounding of lse). The eps term is skipped when eps = 0 (it is inf for -inf logits).
// Rows whose label is ignore_index get 0. A label outside [0, cols) gives NaN (the op also reports
// it through class_loss_labels.comp). A row whose maximum is not finite gives NaN.
//
// One workgroup per row, grid-striding over rows.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 labels: rows ints, read; 2 loss: rows floats, written.
// Push constants:   rows, cols, ignore_index (int), label_smoothing (float in [0, 1)).
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; int ignore_index; float label_smoothing; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 2) writeonly buffer Loss { float loss[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        int label = labels[row];  // the same for the whole workgroup: the branches below are uniform
        if (label == pc.ignore_index) {
            if (t == 0u) loss[row] = 0.0;
            continue;
        }
        if (label < 0 || label >= int(pc.cols)) {
            if (t == 0u) loss[row] = math_nan();
            continue;
        }
        uint base = row * pc.cols;
        float m = -math_inf();
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) m = max_propagate_nan(m, x[base + k]);
        m = workgroup_max(m);
        if (isnan(m) || isinf(m)) {
            if (t == 0u) loss[row] = isnan(m) ? m : math_nan();
            continue;
        }
        float s = 0.0, shifted_sum = 0.0;
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
            float d = x[base + k] - m;
            s += math_exp(d);
            shifted_sum += d;
        }
        s = workgroup_sum(s);
        if (pc.label_smoothing > 0.0) shifted_sum = workgroup_sum(shifted_sum);
        if (t == 0u) {
            float lse = math_log1p(s - 1.0);
            float eps = pc.label_smoothing;
            float value = (1.0 - eps) * (lse - (x[base + uint(label)] - m));
            if (eps > 0.0) value += eps * (lse - shifted_sum / float(pc.cols));
            loss[row] = value;
        }
    }
}
