#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// clip_grad_norm_scale: g[i] *= min(1, max_norm / (total[0] + 1e-6)), the last pass of
// clip_grad_norm (torch.nn.utils.clip_grad_norm_). The total norm is read from the device, never
// from the host. A NaN total (NaN gradient) or inf total gives a NaN / zero coefficient as in
// PyTorch (clamp keeps NaN; GLSL min() does not promise to, hence the explicit test).
//
// Bindings (set 0): 0 g: n floats, read; 1 total: 1 float, read; 2 g: the same tensor as 0,
//                   written. Each element is read and then written by one invocation only, so the
//                   two views never race; they are separate bindings so that the _texel build
//                   (texel_io.glsl) can read g through a texel buffer, which is read-only.
// Push constants:   n (element count), max_norm.
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop): VKGRAD_STEP_GROUPS groups of 4 adjacent elements per step
// (vec4s; texel_io.glsl), then the tail.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; float max_norm; } pc;

VKGRAD_INPUT(0, g_in)
layout(set = 0, binding = 1) readonly buffer Total { float total[]; };
VKGRAD_OUTPUT(2, g_out)

void main() {
    float coef = pc.max_norm / (total[0] + 1e-6);
    if (!isnan(coef) && coef > 1.0) coef = 1.0;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 r[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) r[h] = g_in_load4(s * G + h) * coef;
            g_out_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) g_out_store(i, g_in_load(i) * coef);
}
