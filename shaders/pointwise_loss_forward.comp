#version 450
#extension GL_GOOGLE_include_directive : require
// pointwise_loss_forward: the per-element loss terms of MSE and BCE-with-logits, as PyTorch's
// mse_loss / binary_cross_entropy_with_logits with reduction='none':
//   KIND 0 (mse):  (x - t)^2
//   KIND 1 (bce):  max(x, 0) - x t + log1p(e^-|x|)      (stable for any x; NaN propagates)
// One invocation per element, grid-stride. The mean / sum is reduce_all.comp, twice.
//
// Bindings (set 0): 0 x: n floats, read; 1 target: n floats, read; 2 terms: n floats, written.
// Push constants:   n.
// Specialization:   0 local size x; 1 KIND (0 mse, 1 bce).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer T { float target[]; };
layout(set = 0, binding = 2) writeonly buffer Terms { float terms[]; };

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float v = x[i], t = target[i];
        if (KIND == 0u) {
            float d = v - t;
            terms[i] = d * d;
        } else {
            float positive = isnan(v) ? v : (v > 0.0 ? v : 0.0);
            terms[i] = positive - v * t + math_log1p(math_exp(-abs(v)));
        }
    }
}
