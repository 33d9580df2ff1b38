#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// cross_entropy_loss_backward_rows: cross_entropy_loss_backward.comp (same formula, scale, ignored
// and NaN rows: see there) with one invocation per row instead of one workgroup, for CPU devices
// (see cross_entropy_loss_forward_rows.comp): no shared memory, no barriers.
// dx is OVERWRITTEN. Any grid size works (grid-stride loop over rows).
//
// Bindings (set 0): 0 x: rows*cols floats, input (texel_io.glsl); 1 labels: rows ints, read;
//                   2 status: 4 ints, read (written by class_loss_labels.comp); 3 dx: rows*cols
//                   floats, output (texel_io.glsl).
// Push constants:   rows, cols, ignore_index (int), label_smoothing, grad_scale.
// Specialization:   0 local size x; 1 REDUCTION_MEAN (0 or 1).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint REDUCTION_MEAN = 0;

layout(push_constant) uniform Push {
    uint rows; uint cols; int ignore_index; float label_smoothing; float grad_scale;
} pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 2) readonly buffer Status { int status[]; };
VKGRAD_OUTPUT(3, dx)

void main() {
    float scale = pc.grad_scale;
    if (REDUCTION_MEAN != 0u) scale /= float(max(status[2], 1));  // count 0: every row is ignored
    const float eps = pc.label_smoothing;
    const float off_label = eps / float(pc.cols);
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint base = row * pc.cols;
        const int label = labels[row];
        if (label == pc.ignore_index) {
            for (uint k = 0u; k < pc.cols; ++k) dx_store(base + k, 0.0);
            continue;
        }
        float m = -math_inf();
        if (label >= 0 && label < int(pc.cols)) {
            for (uint k = 0u; k < pc.cols; ++k) m = max_propagate_nan(m, x_load(base + k));
        }
        if (isnan(m) || isinf(m)) {  // also a bad label, which left m at -inf
            const float fill = isnan(m) ? m : math_nan();
            for (uint k = 0u; k < pc.cols; ++k) dx_store(base + k, fill);
            continue;
        }
        float s = 0.0;
        for (uint k = 0u; k < pc.cols; ++k) s += math_exp(x_load(base + k) - m);
        for (uint k = 0u; k < pc.cols; ++k) {
            const float target = off_label + (int(k) == label ? 1.0 - eps : 0.0);
            dx_store(base + k, (math_exp(x_load(base + k) - m) / s - target) * scale);
        }
    }
}
