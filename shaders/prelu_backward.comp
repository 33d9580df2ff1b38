#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// prelu_backward: dx[i] = (x[i] > 0 ? 1 : w[c]) * dy[i], the input gradient of nn.PReLU; element i
// belongs to channel c = (i / inner) % channels (see prelu_forward.comp). dx is overwritten. The
// slope gradient is prelu_weight_grad.comp.
//
// Bindings (set 0): 0 x: n floats, read; 1 w: channels floats, read; 2 dy: n floats, read (the
//                   three through texel_io.glsl); 3 dx: n floats, written (may be dy's tensor: each
//                   element is read and then written by one invocation only).
// Push constants:   n (element count), channels, inner (elements of a channel per outer index,
//                   >= 1).
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop). Each invocation takes 4 adjacent elements per step (vec4
// loads and store; one division for the first element's channel, the next three by counting), then
// the last n % 4 one by one; each element is computed exactly as alone.

#include "texel_io.glsl"
#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; uint channels; uint inner; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, w)
VKGRAD_INPUT(2, dy)
VKGRAD_OUTPUT(3, dx)

float input_grad(float xv, uint c, float dyv) { return act_prelu_grad(xv, w_load(c), 0.0) * dyv; }

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint n4 = pc.n / 4u;
    // do-while: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked off).
    uint q = gl_GlobalInvocationID.x;
    if (q < n4) {
        do {
            const uint outer_index = 4u * q / pc.inner;
            uint j = 4u * q - outer_index * pc.inner;  // position inside the channel's inner block
            uint c = outer_index % pc.channels;
            const vec4 xv = x_load4(q), d = dy_load4(q);
            vec4 result;
            for (uint k = 0u; k < 4u; ++k) {
                result[k] = input_grad(xv[k], c, d[k]);
                // The next element's channel: the next one once its inner block ends.
                j += 1u;
                const bool next_block = j == pc.inner;
                j = next_block ? 0u : j;
                c = next_block ? (c + 1u == pc.channels ? 0u : c + 1u) : c;
            }
            dx_store4(q, result);
            q += stride;
        } while (q < n4);
    }
    for (uint i = 4u * n4 + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        dx_store(i, input_grad(x_load(i), (i / pc.inner) % pc.channels, dy_load(i)));
    }
}
