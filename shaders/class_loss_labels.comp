#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// class_loss_labels: validates the labels of a cross-entropy or NLL loss on the device and
// counts the rows that take part in it. Writes the 4-int status tensor:
//   status[0] = first row whose label is neither ignore_index nor in [0, cols), or -1 if none
//   status[1] = that row's label (0 if none)
//   status[2] = number of rows whose label is not ignore_index (the divisor of reduction='mean')
//   status[3] = cols (so the host-side check can name the valid range)
// Deterministic: integer min / sum in a fixed tree.
//
// Dispatch exactly one workgroup.
//
// Bindings (set 0): 0 labels: rows ints, read; 1 status: 4 ints, written.
// Push constants:   rows, cols, ignore_index (int).
// Specialization:   0 local size x (any size up to VKGRAD_MAX_LOCAL_SIZE).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; int ignore_index; } pc;

layout(set = 0, binding = 0) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 1) writeonly buffer Status { int status[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared uint first_bad[VKGRAD_MAX_LOCAL_SIZE];
shared uint counted[VKGRAD_MAX_LOCAL_SIZE];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint bad = 0xffffffffu, count = 0u;
    for (uint row = t; row < pc.rows; row += gl_WorkGroupSize.x) {
        int label = labels[row];
        if (label == pc.ignore_index) continue;
        count += 1u;
        if ((label < 0 || label >= int(pc.cols)) && bad == 0xffffffffu) bad = row;  // rows ascend per thread
    }
    first_bad[t] = bad;
    counted[t] = count;
    barrier();
    for (uint n = gl_WorkGroupSize.x; n > 1u;) {
        uint upper = (n + 1u) / 2u;
        if (t + upper < n) {
            first_bad[t] = min(first_bad[t], first_bad[t + upper]);
            counted[t] += counted[t + upper];
        }
        barrier();
        n = upper;
    }
    if (t == 0u) {
        bool any_bad = first_bad[0] != 0xffffffffu;
        status[0] = any_bad ? int(first_bad[0]) : -1;
        status[1] = any_bad ? labels[first_bad[0]] : 0;
        status[2] = int(counted[0]);
        status[3] = int(pc.cols);
    }
}
