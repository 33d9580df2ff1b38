#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// unary_forward: y[i] = f(x[i]) for the parameterised elementwise ops of vkgrad/elementwise.hpp:
//   OP 0 scale: y = p0 · x
//   OP 1 clamp: y = min(max(x, p0), p1) as torch.clamp: NaN in x or a NaN bound gives NaN, and
//               p0 > p1 gives p1 everywhere
// Grid-stride, VKGRAD_STEP_GROUPS groups of 4 elements per invocation and step (texel_io.glsl),
// then the tail; each element is computed exactly as alone.
//
// Bindings (set 0): 0 x: n floats, read; 1 y: n floats, written.
// Push constants:   n, p0, p1.
// Specialization:   0 local size x; 1 OP.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint n; float p0; float p1; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

float apply(float v) {
    if (OP == 0u) return pc.p0 * v;
    // Written with compares, not min / max, whose result for a NaN operand GLSL leaves undefined.
    if (isnan(pc.p0) || isnan(pc.p1)) return pc.p0 + pc.p1;
    const float low = v < pc.p0 ? pc.p0 : v;
    return low > pc.p1 ? pc.p1 : low;
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
            for (uint h = 0u; h < G; ++h) {
                const vec4 v = x_load4(s * G + h);
                r[h] = vec4(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
            }
            y_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) y_store(i, apply(x_load(i)));
}
