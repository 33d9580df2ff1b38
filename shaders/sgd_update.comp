#version 450
// sgd_update: one torch.optim.SGD step of one parameter tensor, in PyTorch's order:
//   d = g + weight_decay·p                      (only when weight_decay != 0, so 0·inf stays out)
//   if MOMENTUM: buf = (t == 1) ? d : momentum·buf + (1 − dampening)·d
//                d = NESTEROV ? d + momentum·buf : buf
//   p = p − lr·d
// t = step[0], the optimizer's step counter (already advanced for this step, so t >= 1): on the
// first step the momentum buffer is initialised to d, as PyTorch does when it has no buffer yet.
//
// Bindings (set 0): 0 p: n floats, read/written; 1 g: n floats, read; 2 buf: n floats,
//                   read/written (unused without MOMENTUM); 3 step: 1 int, read.
// Push constants:   n, lr, momentum, one_minus_dampening (1 − dampening, rounded once on the host),
//                   weight_decay.
// Specialization:   0 local size x (default 256), 1 MOMENTUM (momentum != 0), 2 NESTEROV.
// Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const bool MOMENTUM = false;
layout(constant_id = 2) const bool NESTEROV = false;

layout(push_constant) uniform Push {
    uint n; float lr; float momentum; float one_minus_dampening; float weight_decay;
} pc;

layout(set = 0, binding = 0) buffer P { float p[]; };
layout(set = 0, binding = 1) readonly buffer G { float g[]; };
layout(set = 0, binding = 2) buffer Buf { float buf[]; };
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };

void main() {
    bool first = step[0] == 1;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float param = p[i];
        float d = g[i];
        if (pc.weight_decay != 0.0) d += pc.weight_decay * param;
        if (MOMENTUM) {
            float b = first ? d : pc.momentum * buf[i] + pc.one_minus_dampening * d;
            buf[i] = b;
            d = NESTEROV ? d + pc.momentum * b : b;
        }
        p[i] = param - pc.lr * d;
    }
}
