#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// activation_forward: y[i] = f(x[i]) for the activation ACT_ID of include/vkgrad/activations.def
// (f = act_<name> in activations.glsl, parameters p0 / p1 as in the table). With SPARSE,
// y[i] = x[i] > theta ? f(x[i]) : 0, written as x <= theta ? 0 : f(x) so that a NaN x still gives
// f(NaN) = NaN instead of a silent 0.
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, written (through texel_io.glsl: storage
//                   buffers, or in the _texel build a texel buffer and 64-bit stores).
// Push constants:   n (element count), p0, p1 (activation parameters), theta (SPARSE cutoff).
// Specialization:   0 local size x (default 256), 1 ACT_ID, 2 SPARSE.
// Any grid size works (grid-stride loop). Each invocation handles VKGRAD_STEP_GROUPS groups of 4
// adjacent elements per step (texel_io.glsl: 2 in the texel build, 1 elsewhere) through vec4 views
// of the buffers (one 16-byte load instead of four, one store per step: on CPU devices every
// per-invocation access is a gather), then the tail one by one. Each element is computed exactly
// as alone, so the results do not depend on the grouping.

#include "texel_io.glsl"
#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint ACT_ID = 0;
layout(constant_id = 2) const bool SPARSE = false;

layout(push_constant) uniform Push { uint n; float p0; float p1; float theta; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

float apply(float v) { return (SPARSE && v <= pc.theta) ? 0.0 : activation_forward(ACT_ID, v, pc.p0, pc.p1); }

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while, not for: llvmpipe tests a for loop's condition at the top of the next pass, and runs
    // that pass's body once more with every lane masked off before it leaves the loop (see
    // grid_stride_groups in lib/context.cpp, which also gives each invocation several steps there).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint g = 0u; g < G; ++g) {
                const vec4 v = x_load4(s * G + g);
                r[g] = vec4(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
            }
            y_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) y_store(i, apply(x_load(i)));
}
