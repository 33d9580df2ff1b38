#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_argmax_per_row: reduce_argmax.comp (torch.argmax along the last dimension: NaN counts as
// larger than everything, ties and several NaN go to the first index) with one invocation per row
// instead of one workgroup, for CPU devices (lib/reduction_layout.hpp; see
// softmax_forward_rows.comp): the row is scanned in column order. Any grid size works.
//
// Bindings (set 0): 0 x: rows*cols floats, input (texel_io.glsl); 1 index: rows ints, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) writeonly buffer Index { int index[]; };

void main() {
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint base = row * pc.cols;
        float best = x_load(base);
        uint best_k = 0u;
        // In column order, a later element wins only if strictly larger, or if it is the first NaN.
        for (uint k = 1u; k < pc.cols && !isnan(best); ++k) {
            const float v = x_load(base + k);
            if (isnan(v) || v > best) {
                best = v;
                best_k = k;
            }
        }
        index[row] = int(best_k);
    }
}
