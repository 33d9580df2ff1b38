#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// prelu_weight_grad_columns: prelu_weight_grad.comp (dw[c] = Σ over the elements i of channel c of
// (x[i] > 0 ? 0 : x[i])·dy[i]; OVERWRITES dw) with one invocation per group of 4 channels instead of
// a workgroup per channel, for CPU devices (lib/reduction_layout.hpp): each invocation adds its
// channels' elements in order (outer index, then inner) with Kahan compensation, with no shared
// memory and no barriers. Deterministic. Any grid size works (grid-stride loop over the groups).
//
// Bindings (set 0): 0 x: n floats, read; 1 dy: n floats, read (both through texel_io.glsl);
//                   2 dw: channels floats, written.
// Push constants:   n (a multiple of channels·inner), channels, inner (>= 1).
// Specialization:   0 local size x, 1 VEC (inner == 1 and channels % 4 == 0: the 4 channels of an
//                   outer index are one aligned vec4).

#include "texel_io.glsl"
#include "activations.glsl"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool VEC = false;

layout(push_constant) uniform Push { uint n; uint channels; uint inner; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, dy)
layout(set = 0, binding = 2) writeonly buffer DW { float dw[]; };

vec4 weight_grad(vec4 v) { return vec4(act_prelu_weight_grad(v.x), act_prelu_weight_grad(v.y),
                                       act_prelu_weight_grad(v.z), act_prelu_weight_grad(v.w)); }

void main() {
    const uint groups = (pc.channels + 3u) / 4u;
    const uint outer = pc.n / (pc.channels * pc.inner);
    for (uint g = gl_GlobalInvocationID.x; g < groups; g += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint c0 = 4u * g;
        // `precise`: reassociating (next - sum) - term would make the compensation 0.
        precise vec4 sum = vec4(0.0), compensation = vec4(0.0);
        for (uint o = 0u; o < outer; ++o) {
            for (uint j = 0u; j < pc.inner; ++j) {
                vec4 product = vec4(0.0);
                if (VEC) {
                    const uint q = (o * pc.channels + c0) / 4u;
                    product = weight_grad(x_load4(q)) * dy_load4(q);
                } else {
                    for (uint k = 0u; k < 4u; ++k) {
                        const uint i = ((o * pc.channels + min(c0 + k, pc.channels - 1u)) * pc.inner) + j;
                        product[k] = act_prelu_weight_grad(x_load(i)) * dy_load(i);
                    }
                }
                precise vec4 term = product - compensation;
                precise vec4 next = sum + term;
                // Once a sum is ±inf its compensation would be inf - inf = NaN; the sum is final then.
                compensation = mix((next - sum) - term, vec4(0.0), isinf(next));
                sum = next;
            }
        }
        for (uint k = 0u; k < 4u; ++k)
            if (c0 + k < pc.channels) dw[c0 + k] = sum[k];
    }
}
