#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// one_hot: out[n, c] = labels[n] == c ? on : off. A label outside [0, classes) gives a row of NaN.
//
// Bindings (set 0): 0 labels: rows i32, read; 1 out: rows·classes f32, written.
// Push constants:   rows, classes, on, off.
// Specialization:   0 local size x. Grid-stride over rows·classes.

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint rows; uint classes; float on; float off; } pc;

layout(set = 0, binding = 0) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float out_[]; };

void main() {
    const uint n = pc.rows * pc.classes;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const int label = labels[i / pc.classes];
        if (label < 0 || uint(label) >= pc.classes) {
            out_[i] = uintBitsToFloat(0x7fc00000u);
        } else {
            out_[i] = uint(label) == i % pc.classes ? pc.on : pc.off;
        }
    }
}
