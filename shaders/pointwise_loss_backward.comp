#version 450
#extension GL_GOOGLE_include_directive : require
// pointwise_loss_backward: the input gradient of pointwise_loss_forward's terms times scale
// (scale = dloss, divided by n for reduction='mean'):
//   KIND 0 (mse): 2 (x - t) scale;   KIND 1 (bce): (sigmoid(x) - t) scale.
// dx is OVERWRITTEN. One invocation per element, grid-stride.
//
// Bindings (set 0): 0 x: n floats, read; 1 target: n floats, read; 2 dx: n floats, written.
// Push constants:   n, scale.
// Specialization:   0 local size x; 1 KIND (0 mse, 1 bce).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float scale; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer T { float target[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float v = x[i], t = target[i];
        dx[i] = KIND == 0u ? 2.0 * (v - t) * pc.scale : (math_sigmoid(v) - t) * pc.scale;
    }
}
