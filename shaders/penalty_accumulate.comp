#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// penalty_accumulate: adds the gradient of a weight or activity penalty to a gradient, in place:
//   KIND 0 (L1): grad[i] += lambda·sign(w[i])   (sign(±0) = 0, sign(NaN) = NaN so NaN propagates)
//   KIND 1 (L2): grad[i] += lambda·w[i]         (the gradient of (lambda/2)·Σ w²)
// For the L1 activity penalty w is the activation y and grad its gradient dy.
//
// Bindings (set 0): 0 w: n floats, read; 1 grad: n floats, read; 2 grad: the same tensor as 1,
//                   written. Each element is read and then written by one invocation only, so the
//                   two views never race; they are separate bindings so that the _texel build
//                   (texel_io.glsl) can read through a texel buffer, which is read-only.
// Push constants:   n, lambda.
// Specialization:   0 local size x (default 256), 1 KIND.
// Any grid size works (grid-stride loop). Each invocation takes VKGRAD_STEP_GROUPS groups of 4
// adjacent elements per step (16-byte loads, one store: on CPU devices every per-invocation access
// is a gather; texel_io.glsl), then the tail one by one; each element is computed exactly as alone.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float lambda; } pc;

VKGRAD_INPUT(0, w)
VKGRAD_INPUT(1, grad_in)
VKGRAD_OUTPUT(2, grad_out)

// GLSL's sign() leaves NaN unspecified.
float sign_or_nan(float v) { return isnan(v) ? v : (v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0)); }

float penalized(float g, float v) { return g + pc.lambda * (KIND == 0u ? sign_or_nan(v) : v); }

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
                const vec4 v = w_load4(s * G + h), g = grad_in_load4(s * G + h);
                r[h] = vec4(penalized(g.x, v.x), penalized(g.y, v.y), penalized(g.z, v.z), penalized(g.w, v.w));
            }
            grad_out_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        grad_out_store(i, penalized(grad_in_load(i), w_load(i)));
    }
}
