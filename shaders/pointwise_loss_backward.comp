#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// pointwise_loss_backward: the input gradient of pointwise_loss_forward's terms times scale
// (scale = dloss, divided by n for reduction='mean'):
//   KIND 0 (mse):        2 (x - t) scale
//   KIND 1 (bce):        (sigmoid(x) - t) scale
//   KIND 2 (l1):         sign(x - t) scale            (0 at x == t, as torch.sign)
//   KIND 3 (smooth_l1):  (|d| < beta ? d / beta : sign(d)) scale,  d = x - t  (beta = 0: L1's)
// A NaN x or t gives NaN for every kind (PyTorch's CPU l1_loss gives 0 there; NaN propagates here).
// dx is OVERWRITTEN. Grid-stride, VKGRAD_STEP_GROUPS groups of 4 elements per invocation and step
// (texel_io.glsl), then the tail; inputs and output through texel_io.glsl.
//
// Bindings (set 0): 0 x: n floats, read; 1 target: n floats, read; 2 dx: n floats, written.
// Push constants:   n, scale, beta (smooth_l1 only).
// Specialization:   0 local size x; 1 KIND (0 mse, 1 bce, 2 l1, 3 smooth_l1).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float scale; float beta; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, target)
VKGRAD_OUTPUT(2, dx)

// sign(d), 0 at d == ±0 like torch.sign, NaN for NaN (GLSL leaves sign(NaN) undefined).
float sign_propagate(float d) { return propagate_nan(d, sign(d)); }

float grad(float v, float t) {
    if (KIND == 0u) return 2.0 * (v - t) * pc.scale;
    if (KIND == 2u) return sign_propagate(v - t) * pc.scale;
    if (KIND == 3u) {
        float d = v - t;
        return (abs(d) < pc.beta ? d / pc.beta : sign_propagate(d)) * pc.scale;
    }
    return (math_sigmoid(v) - t) * pc.scale;
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
                const vec4 v = x_load4(s * G + h), t = target_load4(s * G + h);
                r[h] = vec4(grad(v.x, t.x), grad(v.y, t.y), grad(v.z, t.z), grad(v.w, t.w));
            }
            dx_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) dx_store(i, grad(x_load(i), target_load(i)));
}
