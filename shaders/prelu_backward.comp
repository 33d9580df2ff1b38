#version 450
#extension GL_GOOGLE_include_directive : require
// prelu_backward: dx[i] = (x[i] > 0 ? 1 : w[c]) * dy[i], the input gradient of nn.PReLU; element i
// belongs to channel c = (i / inner) % channels (see prelu_forward.comp). dx is overwritten. The
// slope gradient is prelu_weight_grad.comp.
//
// Bindings (set 0): 0 x: n floats, read; 1 w: channels floats, read; 2 dy: n floats, read;
//                   3 dx: n floats, written.
// Push constants:   n (element count), channels, inner (elements of a channel per outer index,
//                   >= 1).
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop).

#include "activations.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform Push { uint n; uint channels; uint inner; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 3) writeonly buffer DX { float dx[]; };

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        uint c = (i / pc.inner) % pc.channels;
        dx[i] = act_prelu_grad(x[i], w[c], 0.0) * dy[i];
    }
}
