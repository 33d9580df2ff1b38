#version 450
// clip_grad_norm_scale: g[i] *= min(1, max_norm / (total[0] + 1e-6)), the last pass of
// clip_grad_norm (torch.nn.utils.clip_grad_norm_). The total norm is read from the device, never
// from the host. A NaN total (NaN gradient) or inf total gives a NaN / zero coefficient as in
// PyTorch (clamp keeps NaN; GLSL min() does not promise to, hence the explicit test).
//
// Bindings (set 0): 0 g: n floats, read/written; 1 total: 1 float, read.
// Push constants:   n (element count), max_norm.
// Specialization:   0 local size x (default 256).
// Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform Push { uint n; float max_norm; } pc;

layout(set = 0, binding = 0) buffer G { float g[]; };
layout(set = 0, binding = 1) readonly buffer Total { float total[]; };

void main() {
    float coef = pc.max_norm / (total[0] + 1e-6);
    if (!isnan(coef) && coef > 1.0) coef = 1.0;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        g[i] = g[i] * coef;
    }
}
