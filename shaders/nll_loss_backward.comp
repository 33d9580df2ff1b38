#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// nll_loss_backward: dlogp[r, c] = -scale if c == labels[r], else 0; ignored rows 0, rows with a
// label outside [0, cols) NaN. scale = grad_scale / status[2] (non-ignored rows, from
// class_loss_labels.comp) for REDUCTION_MEAN = 1, else grad_scale. dlogp is OVERWRITTEN.
// One invocation per element, grid-stride.
//
// Bindings (set 0): 0 labels: rows ints, read; 1 status: 4 ints, read; 2 dlogp: rows*cols floats, written.
// Push constants:   rows, cols, ignore_index (int), grad_scale.
// Specialization:   0 local size x; 1 REDUCTION_MEAN (0 or 1).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint REDUCTION_MEAN = 0;

layout(push_constant) uniform Push { uint rows; uint cols; int ignore_index; float grad_scale; } pc;

layout(set = 0, binding = 0) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 1) readonly buffer Status { int status[]; };
layout(set = 0, binding = 2) writeonly buffer DLogP { float dlogp[]; };

void main() {
    float scale = pc.grad_scale;
    if (REDUCTION_MEAN != 0u) scale /= float(max(status[2], 1));  // count 0: every row is ignored
    uint n = pc.rows * pc.cols;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
        int label = labels[i / pc.cols];
        float v = 0.0;
        if (label == pc.ignore_index) v = 0.0;
        else if (label < 0 || label >= int(pc.cols)) v = uintBitsToFloat(0x7fc00000u);
        else if (int(i % pc.cols) == label) v = -scale;
        dlogp[i] = v;
    }
}
