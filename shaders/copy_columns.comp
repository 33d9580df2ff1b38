#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// copy_columns: copies a block of `width` columns of every row from one row-major matrix to another:
//   dst[r, dst_offset + c] = src[r, src_offset + c]   for r < rows, c < width
// One dispatch per input of concat_columns (src an input, dst the result) or per output of
// split_columns (src the input, dst an output). Grid-stride over the rows · width copied elements.
//
// Bindings (set 0): 0 src: rows · src_cols floats, read; 1 dst: rows · dst_cols floats, written
//                   (only the block; the rest of dst is left as it is).
// Push constants:   rows, width, src_cols, src_offset, dst_cols, dst_offset.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push {
    uint rows;
    uint width;
    uint src_cols;
    uint src_offset;
    uint dst_cols;
    uint dst_offset;
} pc;

VKGRAD_INPUT(0, src)
VKGRAD_OUTPUT(1, dst)

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint n = pc.rows * pc.width;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
        const uint r = i / pc.width, c = i - r * pc.width;
        dst_store(r * pc.dst_cols + pc.dst_offset + c, src_load(r * pc.src_cols + pc.src_offset + c));
    }
}
