#version 450
// clip_grad_norm_partial: per-workgroup partial sums of g² for one gradient tensor, the first pass
// of clip_grad_norm. Workgroup w sums the elements of its grid-stride share (Kahan-compensated per
// thread, then a fixed tree over the workgroup) and writes partial[offset + w]. Deterministic.
//
// Bindings (set 0): 0 g: n floats, read; 1 partial: floats, written at [offset, offset + groups).
// Push constants:   n (element count), offset (first partial slot of this tensor).
// Specialization:   0 local size x (default 256; any size).

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform Push { uint n; uint offset; } pc;

layout(set = 0, binding = 0) readonly buffer G { float g[]; };
layout(set = 0, binding = 1) writeonly buffer Partial { float partial_out[]; };

shared float partial[gl_WorkGroupSize.x];

void main() {
    uint t = gl_LocalInvocationID.x;
    float sum = 0.0;
    float compensation = 0.0;  // Kahan: the low-order part lost by the last addition
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float term = g[i] * g[i] - compensation;
        float next = sum + term;
        compensation = (next - sum) - term;
        sum = next;
    }
    partial[t] = sum;
    barrier();
    // Fold the upper half of the `count` live partial sums onto the lower half (any local size).
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) partial[t] += partial[t + upper];
        barrier();
        count = upper;
    }
    if (t == 0u) partial_out[pc.offset + gl_WorkGroupID.x] = partial[0];
}
