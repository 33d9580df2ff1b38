#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// prelu_forward: y[i] = x[i] > 0 ? x[i] : w[c] * x[i], PyTorch's nn.PReLU(num_parameters) with a
// learnable slope per channel. x is (outer, channels, inner) flattened, so element i belongs to
// channel c = (i / inner) % channels; channels == 1 means one slope shared by all elements.
//
// Bindings (set 0): 0 x: n floats, read; 1 w: channels floats, read; 2 y: n floats, written.
// Push constants:   n (element count), channels, inner (elements of a channel per outer index,
//                   >= 1).
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop).

#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push { uint n; uint channels; uint inner; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        uint c = (i / pc.inner) % pc.channels;
        y[i] = act_prelu(x[i], w[c], 0.0);
    }
}
