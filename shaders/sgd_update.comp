#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// sgd_update: one torch.optim.SGD step of one parameter tensor, in PyTorch's order:
//   d = g + weight_decay·p                      (only when weight_decay != 0, so 0·inf stays out)
//   if MOMENTUM: buf = (t == 1) ? d : momentum·buf + (1 − dampening)·d
//                d = NESTEROV ? d + momentum·buf : buf
//   p = p − lr·d
// t = step[0], the optimizer's step counter (already advanced for this step, so t >= 1): on the
// first step the momentum buffer is initialised to d, as PyTorch does when it has no buffer yet.
//
// Bindings (set 0): 0 p: n floats, read; 1 g: n floats, read; 2 buf: n floats, read (unused
//                   without MOMENTUM); 3 step: 1 int, read; 4 p, 5 buf: the same tensors as 0 and 2,
//                   written (buf only with MOMENTUM). Each element is read and then written by one
//                   invocation only, so the two views of a tensor never race; they are separate
//                   bindings so that the _texel build (texel_io.glsl) can read through texel
//                   buffers, which are read-only.
// Push constants:   n, lr, momentum, one_minus_dampening (1 − dampening, rounded once on the host),
//                   weight_decay.
// Specialization:   0 local size x (default 256), 1 MOMENTUM (momentum != 0), 2 NESTEROV.
// Any grid size works (grid-stride loop): VKGRAD_STEP_GROUPS groups of 4 elements per step
// (texel_io.glsl), then the tail.

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool MOMENTUM = false;
layout(constant_id = 2) const bool NESTEROV = false;

layout(push_constant) uniform Push {
    uint n; float lr; float momentum; float one_minus_dampening; float weight_decay;
} pc;

VKGRAD_INPUT(0, p_in)
VKGRAD_INPUT(1, g)
VKGRAD_INPUT(2, buf_in)
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };
VKGRAD_OUTPUT(4, p_out)
VKGRAD_OUTPUT(5, buf_out)

bool first;

// One element's update: param and the momentum buffer b in, their new values out.
void update(inout float param, float d, inout float b) {
    if (pc.weight_decay != 0.0) d += pc.weight_decay * param;
    if (MOMENTUM) {
        b = first ? d : pc.momentum * b + pc.one_minus_dampening * d;
        d = NESTEROV ? d + pc.momentum * b : b;
    }
    param = param - pc.lr * d;
}

void main() {
    first = step[0] == 1;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint G = VKGRAD_STEP_GROUPS;
    const uint steps = pc.n / (4u * G);
    // do-while loops, each entered only by the invocations that have work: llvmpipe tests a for
    // loop's condition at the top of the next pass and runs that pass once more with every lane
    // masked off (see grid_stride_groups in lib/context.cpp).
    uint s = gl_GlobalInvocationID.x;
    if (s < steps) {
        do {
            vec4 params[VKGRAD_STEP_GROUPS], bufs[VKGRAD_STEP_GROUPS];
            for (uint h = 0u; h < G; ++h) {
                const uint q = s * G + h;
                vec4 param = p_in_load4(q);
                vec4 b = MOMENTUM ? buf_in_load4(q) : vec4(0.0);
                const vec4 d = g_load4(q);
                for (uint j = 0u; j < 4u; ++j) {
                    float pj = param[j], bj = b[j];
                    update(pj, d[j], bj);
                    param[j] = pj;
                    b[j] = bj;
                }
                params[h] = param;
                bufs[h] = b;
            }
            if (MOMENTUM) buf_out_store_step(s, bufs);
            p_out_store_step(s, params);
            s += stride;
        } while (s < steps);
    }
    uint i = 4u * G * steps + gl_GlobalInvocationID.x;
    if (i < pc.n) {
        do {
            float param = p_in_load(i);
            float b = MOMENTUM ? buf_in_load(i) : 0.0;
            update(param, g_load(i), b);
            if (MOMENTUM) buf_out_store(i, b);
            p_out_store(i, param);
            i += stride;
        } while (i < pc.n);
    }
}
