#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// select_batch: index[b] = permutation[cursor[0] · stride + b] for b < batch — the indices of the
// next training batch, taken from a per-epoch permutation at a position held ON THE DEVICE, so one
// recorded training step can be replayed for every batch of an epoch (the step advances the cursor).
// A position outside [0, count) gives -1 (gather_rows then yields NaN rows, gather_labels -1, which
// the loss reports as a bad label): a cursor run past the epoch's end is visible, never an
// out-of-bounds read.
//
// Bindings (set 0): 0 permutation: count i32, read; 1 cursor: 1 i32, read; 2 index: batch i32, written.
// Push constants:   count, stride, batch.
// Specialization:   0 local size x.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint count; uint stride; uint batch; } pc;

layout(set = 0, binding = 0) readonly buffer Perm { int permutation[]; };
layout(set = 0, binding = 1) readonly buffer Cursor { int cursor[]; };
layout(set = 0, binding = 2) writeonly buffer Index { int index[]; };

void main() {
    const int c = cursor[0];
    for (uint b = gl_GlobalInvocationID.x; b < pc.batch; b += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        // cursor · stride is only formed when it cannot overflow (it is <= count <= 2^31).
        bool ok = c >= 0 && (pc.stride == 0u || uint(c) <= pc.count / pc.stride);
        const uint pos = ok ? uint(c) * pc.stride + b : 0u;
        ok = ok && pos < pc.count;
        index[b] = ok ? permutation[pos] : -1;
    }
}
