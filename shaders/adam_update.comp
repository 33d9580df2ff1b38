#version 450
#extension GL_GOOGLE_include_directive : require
// adam_update: one torch.optim.Adam (DECOUPLED false) or AdamW (DECOUPLED true) step of one
// parameter tensor, in PyTorch's order, with t = step[0] >= 1 (the optimizer's step counter):
//   Adam: g = grad + wd·p (only when wd != 0)      AdamW: p = p·(1 − lr·wd); g = grad
//   m = m + (g − m)·(1 − beta1)
//   v = beta2·v + (1 − beta2)·g²
//   p = p − lr / bc1 · m / (sqrt(v) / sqrt(bc2) + eps),   bc_k = 1 − beta_k^t
// bc_k is computed as −expm1(t·ln(beta_k)) with ln(beta_k) rounded once on the host: direct
// 1 − pow(beta, t) in float would lose most digits to cancellation for small t (beta2 = 0.999).
//
// Bindings (set 0): 0 p: n floats, read/written; 1 grad: n floats, read; 2 m (exp_avg): n floats,
//                   read/written; 3 v (exp_avg_sq): n floats, read/written; 4 step: 1 int, read.
// Push constants:   n, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay,
//                   ln_beta1, ln_beta2, decay_factor (AdamW: 1 − lr·wd, rounded once on the host).
// Specialization:   0 local size x (default 256), 1 DECOUPLED.
// Any grid size works (grid-stride loop).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const bool DECOUPLED = false;

layout(push_constant) uniform Push {
    uint n; float lr; float beta1; float beta2; float one_minus_beta1; float one_minus_beta2; float eps;
    float weight_decay; float ln_beta1; float ln_beta2; float decay_factor;
} pc;

layout(set = 0, binding = 0) buffer P { float p[]; };
layout(set = 0, binding = 1) readonly buffer G { float grad[]; };
layout(set = 0, binding = 2) buffer M { float m[]; };
layout(set = 0, binding = 3) buffer V { float v[]; };
layout(set = 0, binding = 4) readonly buffer Step { int step[]; };

void main() {
    float t = float(step[0]);
    float bc1 = -math_expm1(t * pc.ln_beta1);
    float bc2 = -math_expm1(t * pc.ln_beta2);
    float step_size = pc.lr / bc1;
    float bc2_sqrt = sqrt(bc2);
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float param = p[i];
        float g = grad[i];
        if (pc.weight_decay != 0.0) {
            if (DECOUPLED) param *= pc.decay_factor;
            else g += pc.weight_decay * param;
        }
        float mi = m[i] + (g - m[i]) * pc.one_minus_beta1;
        float vi = pc.beta2 * v[i] + pc.one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] = param - step_size * (mi / (sqrt(vi) / bc2_sqrt + pc.eps));
    }
}
