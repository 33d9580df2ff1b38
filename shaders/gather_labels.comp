#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// gather_labels: out[b] = labels[index[b]] as i32, from u8 (SOURCE_U8, packed 4 per word) or i32
// labels on the device. An index outside [0, rows) gives -1, which the losses report as a bad label.
//
// Bindings (set 0): 0 labels: rows elements (u8 packed, or i32), read; 1 index: batch i32, read;
//                   2 out: batch i32, written.
// Push constants:   rows, batch.
// Specialization:   0 local size x, 1 SOURCE_U8.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool SOURCE_U8 = false;

layout(push_constant) uniform Push { uint rows; uint batch; } pc;

layout(set = 0, binding = 0) readonly buffer Labels { uint labels[]; };
layout(set = 0, binding = 1) readonly buffer Index { int index[]; };
layout(set = 0, binding = 2) writeonly buffer Out { int out_[]; };

void main() {
    for (uint b = gl_GlobalInvocationID.x; b < pc.batch; b += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const int row = index[b];
        if (row < 0 || uint(row) >= pc.rows) {
            out_[b] = -1;
        } else if (SOURCE_U8) {
            out_[b] = int((labels[uint(row) >> 2] >> (8u * (uint(row) & 3u))) & 0xffu);
        } else {
            out_[b] = int(labels[row]);
        }
    }
}
