#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// binary_forward: out[i] = a[i] OP b[i] (OP 0 add, 1 sub, 2 mul, 3 div: IEEE arithmetic, so NaN
// propagates, x / 0 = ±inf and 0 / 0 = NaN). With BROADCAST 1, b is a row vector of `cols`
// elements read as b[i % cols]; with BROADCAST 2, a is. Grid-stride, VKGRAD_STEP_GROUPS groups of
// 4 elements per invocation and step (texel_io.glsl), then the tail; each element is computed
// exactly as alone, so the results do not depend on the grouping.
//
// Bindings (set 0): 0 a: n floats (cols when BROADCAST 2), read; 1 b: n floats (cols when
//                   BROADCAST 1), read; 2 out: n floats, written.
// Push constants:   n (elements of out), cols (the broadcast row's length; unused without BROADCAST).
// Specialization:   0 local size x; 1 OP; 2 BROADCAST (0 none, 1 b is the row, 2 a is the row).

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint BROADCAST = 0;

layout(push_constant) uniform Push { uint n; uint cols; } pc;

VKGRAD_INPUT(0, a)
VKGRAD_INPUT(1, b)
VKGRAD_OUTPUT(2, out_values)

float apply(float x, float y) {
    if (OP == 0u) return x + y;
    if (OP == 1u) return x - y;
    if (OP == 2u) return x * y;
    return x / y;
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
                const vec4 x = load_a4(s * G + h), y = load_b4(s * G + h);
                r[h] = vec4(apply(x.x, y.x), apply(x.y, y.y), apply(x.z, y.z), apply(x.w, y.w));
            }
            out_values_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        out_values_store(i, apply(load_a(i), load_b(i)));
    }
}
