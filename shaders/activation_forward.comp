#version 450
#extension GL_GOOGLE_include_directive : require
// activation_forward: y[i] = f(x[i]) for the activation ACT_ID of include/vkgrad/activations.def
// (f = act_<name> in activations.glsl, parameters p0 / p1 as in the table). With SPARSE,
// y[i] = x[i] > theta ? f(x[i]) : 0, written as x <= theta ? 0 : f(x) so that a NaN x still gives
// f(NaN) = NaN instead of a silent 0.
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, written.
// Push constants:   n (element count), p0, p1 (activation parameters), theta (SPARSE cutoff).
// Specialization:   0 local size x (default 256), 1 ACT_ID, 2 SPARSE.
// Any grid size works (grid-stride loop).

#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT_ID = 0;
layout(constant_id = 2) const bool SPARSE = false;

layout(push_constant) uniform Push { uint n; float p0; float p1; float theta; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float v = x[i];
        y[i] = (SPARSE && v <= pc.theta) ? 0.0 : activation_forward(ACT_ID, v, pc.p0, pc.p1);
    }
}
