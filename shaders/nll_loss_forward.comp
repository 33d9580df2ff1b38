#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// nll_loss_forward: per-row negative log-likelihood, as torch.nn.functional.nll_loss(...,
// reduction='none', ignore_index): loss[r] = -logp[r, labels[r]]; 0 for ignored rows, NaN for a
// label outside [0, cols) (reported by class_loss_labels.comp). One invocation per row, grid-stride.
//
// Bindings (set 0): 0 logp: rows*cols floats, read; 1 labels: rows ints, read; 2 loss: rows floats, written.
// Push constants:   rows, cols, ignore_index (int).
// Specialization:   0 local size x.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint cols; int ignore_index; } pc;

layout(set = 0, binding = 0) readonly buffer LogP { float logp[]; };
layout(set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 2) writeonly buffer Loss { float loss[]; };

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += stride) {
        int label = labels[row];
        if (label == pc.ignore_index) loss[row] = 0.0;
        else if (label < 0 || label >= int(pc.cols)) loss[row] = uintBitsToFloat(0x7fc00000u);
        else loss[row] = -logp[row * pc.cols + uint(label)];
    }
}
