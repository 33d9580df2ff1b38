#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// binary_backward: the elementwise gradient of binary_forward.comp with respect to one operand
// (WRT 0: a, 1: b), as PyTorch's autograd formulas:
//   add: da = g, db = g;  sub: da = g, db = -g;  mul: da = g b, db = g a;
//   div: da = g / b, db = -g ((a / b) / b)
// grad[i] is the gradient of element i of the full-size result; for a broadcast operand the host
// sums it over the rows afterwards (reduce_columns.comp). Operands are read as in
// binary_forward.comp (BROADCAST 1: b is a row vector of cols elements; 2: a is).
//
// Bindings (set 0): 0 a, 1 b (as binary_forward.comp), 2 dout: n floats, read; 3 grad: n floats,
//                   written.
// Push constants:   n (elements of dout), cols.
// Specialization:   0 local size x; 1 OP (0 add, 1 sub, 2 mul, 3 div); 2 BROADCAST; 3 WRT.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint BROADCAST = 0;
layout(constant_id = 3) const uint WRT = 0;

layout(push_constant) uniform Push { uint n; uint cols; } pc;

VKGRAD_INPUT(0, a)
VKGRAD_INPUT(1, b)
VKGRAD_INPUT(2, dout)
VKGRAD_OUTPUT(3, grad)

float gradient(float x, float y, float g) {
    if (OP == 0u) return g;
    if (OP == 1u) return WRT == 0u ? g : -g;
    if (OP == 2u) return WRT == 0u ? g * y : g * x;
    return WRT == 0u ? g / y : -g * ((x / y) / y);
}

#include "binary_operands.glsl"

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
                const uint q = s * G + h;
                const vec4 x = load_a4(q), y = load_b4(q), g = dout_load4(q);
                r[h] = vec4(gradient(x.x, y.x, g.x), gradient(x.y, y.y, g.y), gradient(x.z, y.z, g.z),
                            gradient(x.w, y.w, g.w));
            }
            grad_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        grad_store(i, gradient(load_a(i), load_b(i), dout_load(i)));
    }
}
