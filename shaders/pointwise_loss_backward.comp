#version 450
#extension GL_GOOGLE_include_directive : require
// pointwise_loss_backward: the input gradient of pointwise_loss_forward's terms times scale
// (scale = dloss, divided by n for reduction='mean'):
//   KIND 0 (mse): 2 (x - t) scale;   KIND 1 (bce): (sigmoid(x) - t) scale.
// dx is OVERWRITTEN. One invocation per group of 4 elements (then the n % 4 tail), grid-stride;
// inputs and output through texel_io.glsl.
//
// Bindings (set 0): 0 x: n floats, read; 1 target: n floats, read; 2 dx: n floats, written.
// Push constants:   n, scale.
// Specialization:   0 local size x; 1 KIND (0 mse, 1 bce).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float scale; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, target)
VKGRAD_OUTPUT(2, dx)

float grad(float v, float t) { return KIND == 0u ? 2.0 * (v - t) * pc.scale : (math_sigmoid(v) - t) * pc.scale; }

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint n4 = pc.n / 4u;
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint q = gl_GlobalInvocationID.x;
    if (q < n4) {
        do {
            const vec4 v = x_load4(q), t = target_load4(q);
            dx_store4(q, vec4(grad(v.x, t.x), grad(v.y, t.y), grad(v.z, t.z), grad(v.w, t.w)));
            q += stride;
        } while (q < n4);
    }
    for (uint i = 4u * n4 + gl_GlobalInvocationID.x; i < pc.n; i += stride) dx_store(i, grad(x_load(i), target_load(i)));
}
