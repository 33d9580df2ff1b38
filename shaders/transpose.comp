#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// transpose: y[c, r] = x[r, c] for a row-major x (rows, cols) and y (cols, rows). Each invocation
// writes one element of y per grid-stride step, so neighbouring invocations write neighbouring
// addresses (and read addresses `cols` apart). A copy: the same bits.
//
// Bindings (set 0): 0 x: rows · cols floats, read; 1 y: cols · rows floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint n = pc.rows * pc.cols;
    for (uint o = gl_GlobalInvocationID.x; o < n; o += stride) {
        const uint c = o / pc.rows, r = o - c * pc.rows;
        y_store(o, x_load(r * pc.cols + c));
    }
}
