#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// pointwise_loss_forward: the per-element loss terms of MSE, BCE-with-logits, L1 and smooth L1, as
// PyTorch's mse_loss / binary_cross_entropy_with_logits / l1_loss / smooth_l1_loss with
// reduction='none' (NaN propagates through every kind):
//   KIND 0 (mse):        (x - t)^2
//   KIND 1 (bce):        max(x, 0) - x t + log1p(e^-|x|)      (stable for any x)
//   KIND 2 (l1):         |x - t|
//   KIND 3 (smooth_l1):  |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta,  d = x - t
//                        (beta = 0: the comparison never holds, so the term is |d|, L1 as PyTorch)
// Grid-stride, VKGRAD_STEP_GROUPS groups of 4 elements per invocation and step (texel_io.glsl), then
// the tail; inputs and output through texel_io.glsl. The mean / sum is reduce_all.comp, twice.
//
// Bindings (set 0): 0 x: n floats, read; 1 target: n floats, read; 2 terms: n floats, written.
// Push constants:   n, beta (smooth_l1 only).
// Specialization:   0 local size x; 1 KIND (0 mse, 1 bce, 2 l1, 3 smooth_l1).

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float beta; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(1, target)
VKGRAD_OUTPUT(2, terms)

float term(float v, float t) {
    if (KIND == 0u) {
        float d = v - t;
        return d * d;
    }
    if (KIND == 2u) return abs(v - t);
    if (KIND == 3u) {
        // A NaN |d| fails the comparison and propagates through |d| - 0.5 beta.
        float a = abs(v - t);
        return a < pc.beta ? 0.5 * a * a / pc.beta : a - 0.5 * pc.beta;
    }
    float positive = isnan(v) ? v : (v > 0.0 ? v : 0.0);
    // e^-|v| is in [0, 1] (or NaN): log1p_unit, without math_log1p's selects for other arguments.
    return positive - v * t + log1p_unit(math_exp(-abs(v)));
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
                r[h] = vec4(term(v.x, t.x), term(v.y, t.y), term(v.z, t.z), term(v.w, t.w));
            }
            terms_store_step(s, r);
            s += stride;
        } while (s < steps);
    }
    for (uint i = 4u * G * steps + gl_GlobalInvocationID.x; i < pc.n; i += stride) terms_store(i, term(x_load(i), target_load(i)));
}
