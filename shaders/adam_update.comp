#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// adam_update: one torch.optim.Adam (DECOUPLED false) or AdamW (DECOUPLED true) step of one
// parameter tensor, in PyTorch's order, with t = step[0] >= 1 (the optimizer's step counter):
//   Adam: g = grad + wd·p (only when wd != 0)      AdamW: p = p·(1 − lr·wd); g = grad
//   m = m + (g − m)·(1 − beta1)
//   v = beta2·v + (1 − beta2)·g²
//   p = p − lr / bc1 · m / (sqrt(v) / sqrt(bc2) + eps),   bc_k = 1 − beta_k^t
// bc_k is computed as −expm1(t·ln(beta_k)) with ln(beta_k) rounded once on the host: direct
// 1 − pow(beta, t) in float would lose most digits to cancellation for small t (beta2 = 0.999).
//
// Bindings (set 0): 0 p: n floats, read; 1 grad: n floats, read; 2 m (exp_avg): n floats, read;
//                   3 v (exp_avg_sq): n floats, read; 4 step: 1 int, read; 5 p, 6 m, 7 v: the same
//                   tensors as 0, 2 and 3, written. Each element is read and then written by one
//                   invocation only, so the read and write views of a tensor never race. They are
//                   separate bindings so that the _texel build (texel_io.glsl) can read through
//                   texel buffers, which are read-only and much faster to read on llvmpipe.
// Push constants:   n, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay,
//                   ln_beta1, ln_beta2, decay_factor (AdamW: 1 − lr·wd, rounded once on the host).
// Specialization:   0 local size x (default 256), 1 DECOUPLED.
// Any grid size works (grid-stride loop): VKGRAD_STEP_GROUPS groups of 4 elements per step
// (texel_io.glsl), then the tail.

#include "texel_io.glsl"
#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool DECOUPLED = false;

layout(push_constant) uniform Push {
    uint n; float lr; float beta1; float beta2; float one_minus_beta1; float one_minus_beta2; float eps;
    float weight_decay; float ln_beta1; float ln_beta2; float decay_factor;
} pc;

VKGRAD_INPUT(0, p_in)
VKGRAD_INPUT(1, grad)
VKGRAD_INPUT(2, m_in)
VKGRAD_INPUT(3, v_in)
layout(set = 0, binding = 4) readonly buffer Step { int step[]; };
VKGRAD_OUTPUT(5, p_out)
VKGRAD_OUTPUT(6, m_out)
VKGRAD_OUTPUT(7, v_out)

float step_size, bc2_sqrt;

// One element's update: param, m and v in, their new values out.
void update(inout float param, float g, inout float m, inout float v) {
    if (pc.weight_decay != 0.0) {
        if (DECOUPLED) param *= pc.decay_factor;
        else g += pc.weight_decay * param;
    }
    m = m + (g - m) * pc.one_minus_beta1;
    v = pc.beta2 * v + pc.one_minus_beta2 * g * g;
    param = param - step_size * (m / (sqrt(v) / bc2_sqrt + pc.eps));
}

void main() {
    float t = float(step[0]);
    float bc1 = -math_expm1(t * pc.ln_beta1);
    float bc2 = -math_expm1(t * pc.ln_beta2);
    step_size = pc.lr / bc1;
    bc2_sqrt = sqrt(bc2);
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while loops, each entered only by the invocations that have work: llvmpipe tests a for
    // loop's condition at the top of the next pass and runs that pass once more with every lane
    // masked off (see grid_stride_groups in lib/context.cpp).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 params[VKGRAD_STEP_GROUPS], ms[VKGRAD_STEP_GROUPS], vs[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) {
                const uint q = s * G + h;
                vec4 param = p_in_load4(q), m = m_in_load4(q), v = v_in_load4(q);
                const vec4 g = grad_load4(q);
                for (uint j = 0u; j < 4u; ++j) {
                    float pj = param[j], mj = m[j], vj = v[j];
                    update(pj, g[j], mj, vj);
                    param[j] = pj;
                    m[j] = mj;
                    v[j] = vj;
                }
                params[h] = param;
                ms[h] = m;
                vs[h] = v;
            }
            m_out_store_step(s, ms);
            v_out_store_step(s, vs);
            p_out_store_step(s, params);
            s += stride;
        } while (s < steps);
    }
    uint i = 4u * G * steps + gl_GlobalInvocationID.x;
    if (i < pc.n) {
        do {
            float param = p_in_load(i), m = m_in_load(i), v = v_in_load(i);
            update(param, grad_load(i), m, v);
            m_out_store(i, m);
            v_out_store(i, v);
            p_out_store(i, param);
            i += stride;
        } while (i < pc.n);
    }
}
