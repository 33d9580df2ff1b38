#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// axpy: y[i] = alpha · x[i] + y[i] (BLAS axpy), in place. y is bound twice, as an input (binding 1)
// and as the output (binding 2), so that both builds of texel_io.glsl apply: each element is read
// and then written by the same invocation, and by no other. Grid-stride, VKGRAD_STEP_GROUPS groups
// of 4 elements per invocation and step, then the tail. alpha · x + y is `precise`: two roundings
// on every device (no fused multiply-add in one build and not in another).
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, read; 2 y again: n floats, written.
// Push constants:   n, alpha.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; float alpha; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, y_in)
VKGRAD_OUTPUT(2, y_out)

vec4 axpy4(vec4 v, vec4 w) {
    precise vec4 scaled = pc.alpha * v;
    precise vec4 sum = scaled + w;
    return sum;
}

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) r[h] = axpy4(x_load4(s * G + h), y_in_load4(s * G + h));
            y_out_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        precise float scaled = pc.alpha * x_load(i);
        precise float sum = scaled + y_in_load(i);
        y_out_store(i, sum);
    }
}
