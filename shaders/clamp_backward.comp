#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// clamp_backward: dx[i] = dy[i] where min <= x[i] <= max, else 0, as PyTorch's clamp_backward (both
// bounds included; a NaN x or a NaN bound fails the test and gives 0). Grid-stride as
// unary_forward.comp.
//
// Bindings (set 0): 0 x: n floats, read; 1 dy: n floats, read; 2 dx: n floats, written.
// Push constants:   n, min, max.
// Specialization:   0 local size x.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; float lo; float hi; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, dy)
VKGRAD_OUTPUT(2, dx)

float gradient(float v, float g) { return v >= pc.lo && v <= pc.hi ? g : 0.0; }

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
                const vec4 v = x_load4(s * G + h), g = dy_load4(s * G + h);
                r[h] = vec4(gradient(v.x, g.x), gradient(v.y, g.y), gradient(v.z, g.z), gradient(v.w, g.w));
            }
            dx_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) dx_store(i, gradient(x_load(i), dy_load(i)));
}
