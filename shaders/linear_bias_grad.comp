#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// linear_bias_grad: db[j] = Σ_i dy[i, j] (column sums of the M×N matrix dy), the bias gradient of
// nn.Linear. Overwrites db, or adds into it when ACCUMULATE.
//
// Each workgroup owns COLUMNS consecutive columns; its SLICES = local size / COLUMNS threads per
// column sum rows s, s + SLICES, s + 2·SLICES, ... in that order, then the slices are added in a
// fixed tree. Deterministic (no atomics): the same input gives the same bits on every run.
// Neighbouring threads read neighbouring columns, so every load of dy is contiguous.
//
// Bindings (set 0): 0 dy: M·N floats, read; 1 db: N floats, written (read too when ACCUMULATE).
// Push constants:   M (rows), N (columns).
// Specialization:   0 local size x (a multiple of COLUMNS, at most VKGRAD_MAX_LOCAL_SIZE), 1 COLUMNS,
//                   2 ACCUMULATE.
// Dispatch:         (ceil(N / COLUMNS), 1, 1) workgroups, or fewer (the device's workgroup-count
//                   limit): workgroup g then handles column tiles g, g + G, g + 2G, ...
//                   (G = gl_NumWorkGroups.x), as many for all its invocations (uniform barriers).

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint COLUMNS = 32;
layout(constant_id = 2) const bool ACCUMULATE = false;

layout(push_constant) uniform Push { uint M; uint N; } pc;

layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 1) buffer DB { float db[]; };

#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE.
shared float partial[VKGRAD_MAX_LOCAL_SIZE];

// The tile of COLUMNS columns that starts at column col0; every invocation of the workgroup calls it.
void column_tile(uint col0) {
    const uint slices = gl_WorkGroupSize.x / COLUMNS;
    uint t = gl_LocalInvocationID.x;
    uint local_col = t % COLUMNS;
    uint slice = t / COLUMNS;
    uint col = col0 + local_col;

    float sum = 0.0;
    if (col < pc.N) {
        for (uint r = slice; r < pc.M; r += slices) sum += dy[r * pc.N + col];
    }
    partial[t] = sum;
    barrier();

    // Fold the upper half of the live slices onto the lower half (any slice count).
    for (uint count = slices; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (slice + upper < count) partial[t] += partial[t + upper * COLUMNS];
        barrier();
        count = upper;
    }
    // No barrier needed before the next tile: after the last fold each thread reads only its own
    // partial[t].
    if (slice == 0u && col < pc.N) db[col] = ACCUMULATE ? db[col] + partial[t] : partial[t];
}

void main() {
    // ceil(N / COLUMNS) without overflow for N near 2^32.
    const uint tiles = pc.N / COLUMNS + uint(pc.N % COLUMNS != 0u);
    for (uint tile = gl_WorkGroupID.x; tile < tiles; tile += gl_NumWorkGroups.x) column_tile(tile * COLUMNS);
}
