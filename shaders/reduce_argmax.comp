#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// reduce_argmax: index[r] = the column of the largest element of row r of an (rows, cols) matrix,
// as torch.argmax(x, dim=-1): NaN counts as larger than everything, ties (and several NaN) go to
// the first index. One workgroup per row, grid-striding over rows; fixed tree: deterministic.
//
// Bindings (set 0): 0 x: rows*cols floats, read; 1 index: rows ints, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x (at most VKGRAD_MAX_LOCAL_SIZE).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Index { int index[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared float best_value[VKGRAD_MAX_LOCAL_SIZE];
shared uint best_index[VKGRAD_MAX_LOCAL_SIZE];

// Whether candidate (v, i) beats the current best (bv, bi).
bool beats(float v, uint i, float bv, uint bi) {
    if (isnan(v) || isnan(bv)) return isnan(v) && (!isnan(bv) || i < bi);
    return v > bv || (v == bv && i < bi);
}

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * pc.cols;
        float bv = 0.0;
        uint bi = 0xffffffffu;  // none yet
        for (uint k = t; k < pc.cols; k += gl_WorkGroupSize.x) {
            float v = x[base + k];
            if (bi == 0xffffffffu || beats(v, k, bv, bi)) { bv = v; bi = k; }
        }
        best_value[t] = bv;
        best_index[t] = bi;
        barrier();
        for (uint n = gl_WorkGroupSize.x; n > 1u;) {
            uint upper = (n + 1u) / 2u;
            if (t + upper < n && best_index[t + upper] != 0xffffffffu &&
                (best_index[t] == 0xffffffffu ||
                 beats(best_value[t + upper], best_index[t + upper], best_value[t], best_index[t]))) {
                best_value[t] = best_value[t + upper];
                best_index[t] = best_index[t + upper];
            }
            barrier();
            n = upper;
        }
        if (t == 0u) index[row] = int(best_index[0]);
        barrier();  // the shared arrays are reused by the next row
    }
}
