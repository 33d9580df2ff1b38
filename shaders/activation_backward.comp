#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// activation_backward: dx[i] = f'(x[i]) * dy[i] for the activation ACT_ID of
// include/vkgrad/activations.def (f' = act_<name>_grad in activations.glsl). With SPARSE,
// dx[i] = x[i] > theta ? f'(x[i]) * dy[i] : 0, written as x <= theta ? 0 : ... so that a NaN x
// gives NaN. dx is overwritten, not accumulated into.
//
// Bindings (set 0): 0 x: n floats, read (the forward input); 1 dy: n floats, read;
//                   2 dx: n floats, written (through texel_io.glsl: storage buffers, or in the
//                   _texel build texel buffers and 64-bit stores).
// Push constants:   n (element count), p0, p1 (activation parameters), theta (SPARSE cutoff).
// Specialization:   0 local size x (default 256), 1 ACT_ID, 2 SPARSE.
// Any grid size works (grid-stride loop); VKGRAD_STEP_GROUPS groups of 4 elements per step through
// vec4 views, then the tail, as in activation_forward.comp.

#include "texel_io.glsl"
#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint ACT_ID = 0;
layout(constant_id = 2) const bool SPARSE = false;

layout(push_constant) uniform Push { uint n; float p0; float p1; float theta; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, dy)
VKGRAD_OUTPUT(2, dx)

float apply(float v, float g) { return (SPARSE && v <= pc.theta) ? 0.0 : activation_grad(ACT_ID, v, pc.p0, pc.p1) * g; }

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {  // do-while: see activation_forward.comp
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) {
                const vec4 v = x_load4(s * G + h), g = dy_load4(s * G + h);
                r[h] = vec4(apply(v.x, g.x), apply(v.y, g.y), apply(v.z, g.z), apply(v.w, g.w));
            }
            dx_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) dx_store(i, apply(x_load(i), dy_load(i)));
}
