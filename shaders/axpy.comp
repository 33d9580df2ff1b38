#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// axpy: y[i] = alpha · x[i] + y[i] (BLAS axpy), y read and written in place. Grid-stride, one
// group of 4 elements per invocation and step through vec4 views, then the tail. alpha · x + y is
// `precise`, two roundings on every device (no fused multiply-add in one build and not another).
//
// Bindings (set 0): 0 x: n floats, read (texel_io.glsl); 1 y: n floats, read and written (a
//                   storage buffer in every build).
// Push constants:   n, alpha.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; float alpha; } pc;

VKGRAD_INPUT(0, x)
layout(set = 0, binding = 1) buffer YFloats { float y_floats[]; };
layout(set = 0, binding = 1) buffer YQuads { vec4 y_quads[]; };

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint quads = pc.n / 4u;
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint q = gl_GlobalInvocationID.x;
    if (q < quads) {
        do {
            precise vec4 scaled = pc.alpha * x_load4(q);
            precise vec4 sum = scaled + y_quads[q];
            y_quads[q] = sum;
            q += stride;
        } while (q < quads);
    }
    for (uint i = 4u * quads + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        precise float scaled = pc.alpha * x_load(i);
        precise float sum = scaled + y_floats[i];
        y_floats[i] = sum;
    }
}
