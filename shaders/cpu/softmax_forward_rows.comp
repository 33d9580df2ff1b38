#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// softmax_forward_rows: softmax_forward.comp (same formulas and NaN / inf behaviour: see there) with
// one invocation per row instead of one workgroup, for CPU devices (lib/reduction_layout.hpp): each
// invocation walks its row itself (max, sum, output, in column order), with no shared memory and no
// barriers, which cost far more than the arithmetic where a workgroup is one CPU thread (llvmpipe).
// Any grid size works (grid-stride loop over rows).
//
// Bindings (set 0): 0 x: rows*cols floats, input (texel_io.glsl); 1 y: rows*cols floats, written
//                   (may not alias x).
// Push constants:   rows, cols (>= 1).
// Specialization:   0 local size x; 1 LOG_SOFTMAX (0 or 1).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint LOG_SOFTMAX = 0;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

void main() {
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint base = row * pc.cols;
        float m = -math_inf();
        for (uint k = 0u; k < pc.cols; ++k) m = max_propagate_nan(m, x_load(base + k));
        if (isnan(m) || isinf(m)) {
            const float fill = isnan(m) ? m : math_nan();
            for (uint k = 0u; k < pc.cols; ++k) y_store(base + k, fill);
            continue;
        }
        float s = 0.0;
        for (uint k = 0u; k < pc.cols; ++k) s += math_exp(x_load(base + k) - m);
        if (LOG_SOFTMAX != 0u) {
            const float log_s = math_log1p(s - 1.0);  // s - 1 is exact for s <= 2 (Sterbenz)
            for (uint k = 0u; k < pc.cols; ++k) y_store(base + k, (x_load(base + k) - m) - log_s);
        } else {
            for (uint k = 0u; k < pc.cols; ++k) y_store(base + k, math_exp(x_load(base + k) - m) / s);
        }
    }
}
