#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// cross_entropy_loss_forward_rows: cross_entropy_loss_forward.comp (same formula, ignore_index, NaN
// and label-smoothing behaviour: see there) with one invocation per row instead of one workgroup,
// for CPU devices (lib/reduction_layout.hpp): each invocation walks its row's logits itself (max,
// then the sums in column order), with no shared memory and no barriers. (On llvmpipe a workgroup
// is one CPU thread with the invocations as 8-wide SIMD lanes; there the workgroup reductions cost
// far more in barriers and shared-memory gathers than the arithmetic, even for rows of 65536.)
// Any grid size works (grid-stride loop over rows).
//
// Bindings (set 0): 0 x: rows*cols floats, input (texel_io.glsl); 1 labels: rows ints, read;
//                   2 loss: rows floats, written.
// Push constants:   rows, cols, ignore_index (int), label_smoothing (float in [0, 1)).
// Specialization:   0 local size x.

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; int ignore_index; float label_smoothing; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 2) writeonly buffer Loss { float loss[]; };

float row_loss(uint row) {
    const int label = labels[row];
    if (label == pc.ignore_index) return 0.0;
    if (label < 0 || label >= int(pc.cols)) return math_nan();
    const uint base = row * pc.cols;
    float m = -math_inf();
    for (uint k = 0u; k < pc.cols; ++k) m = max_propagate_nan(m, x_load(base + k));
    if (isnan(m) || isinf(m)) return isnan(m) ? m : math_nan();
    float s = 0.0, shifted_sum = 0.0;
    for (uint k = 0u; k < pc.cols; ++k) {
        const float d = x_load(base + k) - m;
        s += math_exp(d);
        shifted_sum += d;
    }
    const float lse = math_log1p(s - 1.0);
    const float eps = pc.label_smoothing;
    float value = (1.0 - eps) * (lse - (x_load(base + uint(label)) - m));
    if (eps > 0.0) value += eps * (lse - shifted_sum / float(pc.cols));
    return value;
}

void main() {
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        loss[row] = row_loss(row);
    }
}
