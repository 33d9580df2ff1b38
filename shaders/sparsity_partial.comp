#version 450
// sparsity_partial: first pass of ActivationSparsity (include/vkgrad/sparsity.hpp). y is
// (rows × features) row-major. Workgroup (bx, r) covers features bx·L .. bx·L + L − 1 (one per
// thread, so neighbouring threads read neighbouring addresses) over the rows of chunk r
// (r·rows_per_chunk .. min(rows, (r + 1)·rows_per_chunk)), and writes per feature c:
//   partial[(r·features + c)·2 + 0] = count of y == 0    (−0 == 0 is true; NaN == 0 is false)
//   partial[(r·features + c)·2 + 1] = count of |y| <= eps (false for NaN)
// Integer counts: exact and order-independent.
//
// Bindings (set 0): 0 y: rows·features floats, read; 1 partial: uints, written.
// Push constants:   rows, features, rows_per_chunk, eps.
// Specialization:   0 local size x (default 256).
// Dispatch (ceil(features / L), row_chunks, 1).

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform Push { uint rows; uint features; uint rows_per_chunk; float eps; } pc;

layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Partial { uint partial[]; };

void main() {
    uint c = gl_GlobalInvocationID.x;
    if (c >= pc.features) return;
    uint r = gl_WorkGroupID.y;
    uint begin = r * pc.rows_per_chunk;
    uint end = min(pc.rows, begin + pc.rows_per_chunk);
    uint zeros = 0u, near = 0u;
    for (uint row = begin; row < end; ++row) {
        float v = y[row * pc.features + c];
        if (v == 0.0) ++zeros;
        if (abs(v) <= pc.eps) ++near;
    }
    uint slot = (r * pc.features + c) * 2u;
    partial[slot] = zeros;
    partial[slot + 1u] = near;
}
