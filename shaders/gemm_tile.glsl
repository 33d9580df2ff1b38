// gemm_tile.glsl: the tiled matrix-product main loop shared by gemm.comp and linear_forward.comp.
// Computes, for every (row, col) of the M×N result, acc = Σ_k op(A)[row, k] · op(B)[k, col] in f32,
// then calls the includer's `void store_result(uint row, uint col, float acc)` (the epilogue),
// only for row < M and col < N.
//
// op(A) is M×K: A stored row-major M×K, or K×M when TRANS_A (op(A) = Aᵀ).
// op(B) is K×N: B stored row-major K×N, or N×K when TRANS_B (op(B) = Bᵀ).
//
// Grid: the result is cut into ceil(M / TILE_M) × ceil(N / TILE_N) blocks, and workgroup (x, y)
// computes blocks (y + i·gl_NumWorkGroups.y, x + j·gl_NumWorkGroups.x) for i, j = 0, 1, ... while in
// range (a grid-stride loop over blocks), so the host caps the grid at the device's workgroup-count
// limit and any M, N still runs; with one workgroup per block (every normal shape) each loop runs
// once. The block loop's bounds are the same for all invocations of a workgroup, so every barrier
// stays in uniform control flow.
//
// Blocking: one workgroup computes a TILE_M × TILE_N block of the result. Per step of TILE_K, the
// workgroup stages the TILE_M × TILE_K slice of op(A) and the TILE_K × TILE_N slice of op(B) in
// shared memory (k-major, rows padded by one float so the strided stores of a transposed load do not
// all hit one bank; one array, the B slice after the A slice), then every thread accumulates its
// REG_M × REG_N register block. Thread (ty, tx) owns rows ty + i·(TILE_M / REG_M) and columns
// tx + j·(TILE_N / REG_N): neighbouring threads touch neighbouring columns, so shared reads of B and
// global stores of the result are contiguous.
// Out-of-range elements (edges of M, N, K) are staged as 0 and never stored, so any M, N, K ≥ 1
// works and a NaN in A reaches only its own row of the result.
//
// The includer declares, before including this file: the push constant block `pc` with uint fields
// M, N, K, and the function store_result. This file declares bindings 0 (A) and 1 (B): f32, or
// binary16 in the _f16 build (-DVKGRAD_F16_INPUTS=1), which converts each element as it is staged.
// Specialization: 0 local size x = (TILE_M / REG_M) · (TILE_N / REG_N), 1 TILE_M, 2 TILE_N,
// 3 TILE_K, 4 TRANS_A, 5 TRANS_B. TILE_M and TILE_N must be multiples of 4, and the two slices,
// TILE_K·((TILE_M + 1) + (TILE_N + 1)) floats, must fit VKGRAD_GEMM_SHARED_FLOATS (shared_sizes.h).
// The C++ side (lib/linear.cpp, choose_gemm_tiles, gemm_tiles_fit) picks them from the device's
// limits.

#include "spec_ids.h"
layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint TILE_M = 64;
layout(constant_id = 2) const uint TILE_N = 64;
layout(constant_id = 3) const uint TILE_K = 16;
layout(constant_id = 4) const bool TRANS_A = false;
layout(constant_id = 5) const bool TRANS_B = false;

const uint REG_M = 4;
const uint REG_N = 4;

#if defined(VKGRAD_F16_INPUTS) && VKGRAD_F16_INPUTS
// The _f16 build: A (bit 0 of the specialization constant F16_MASK, spec_ids.h) and B (bit 1) hold
// binary16 values, two per 32-bit word (half.glsl converts exactly), or f32 where the bit is clear.
#include "half.glsl"
#include "spec_ids.h"
layout(constant_id = VKGRAD_SPEC_F16_MASK) const uint F16_MASK = 3u;
layout(set = 0, binding = 0) readonly buffer MatrixA { float a[]; };
layout(set = 0, binding = 1) readonly buffer MatrixB { float b[]; };
layout(set = 0, binding = 0) readonly buffer MatrixAHalves { uint a_words[]; };
layout(set = 0, binding = 1) readonly buffer MatrixBHalves { uint b_words[]; };
float a_at(uint i) { return (F16_MASK & 1u) != 0u ? vkgrad_from_half(vkgrad_half_of(a_words[i >> 1u], i)) : a[i]; }
float b_at(uint i) { return (F16_MASK & 2u) != 0u ? vkgrad_from_half(vkgrad_half_of(b_words[i >> 1u], i)) : b[i]; }
#else
layout(set = 0, binding = 0) readonly buffer MatrixA { float a[]; };
layout(set = 0, binding = 1) readonly buffer MatrixB { float b[]; };
float a_at(uint i) { return a[i]; }
float b_at(uint i) { return b[i]; }
#endif

#include "shared_sizes.h"

const uint A_STRIDE = TILE_M + 1;  // padded row of the k-major A slice
const uint B_STRIDE = TILE_N + 1;
const uint B_OFFSET = TILE_K * A_STRIDE;  // where the B slice starts
// Both slices, sized by the literal capacity (the tile's specialization constants stay in the
// index arithmetic): A at [0, B_OFFSET), B at [B_OFFSET, B_OFFSET + TILE_K * B_STRIDE).
shared float staged[VKGRAD_GEMM_SHARED_FLOATS];

// The block of the result whose top-left element is (row0, col0).
void gemm_block(uint row0, uint col0) {
    const uint threads_n = TILE_N / REG_N;
    const uint rows_step = TILE_M / REG_M;
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid % threads_n;
    uint ty = tid / threads_n;

    float acc[REG_M][REG_N];
    for (uint i = 0u; i < REG_M; ++i)
        for (uint j = 0u; j < REG_N; ++j) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += TILE_K) {
        // Stage op(A)[row0 .. +TILE_M, k0 .. +TILE_K]; consecutive threads read consecutive
        // addresses of the stored matrix in both layouts.
        for (uint e = tid; e < TILE_M * TILE_K; e += gl_WorkGroupSize.x) {
            uint m = TRANS_A ? e % TILE_M : e / TILE_K;
            uint k = TRANS_A ? e / TILE_M : e % TILE_K;
            uint gm = row0 + m, gk = k0 + k;
            float v = 0.0;
            if (gm < pc.M && gk < pc.K) v = TRANS_A ? a_at(gk * pc.M + gm) : a_at(gm * pc.K + gk);
            staged[k * A_STRIDE + m] = v;
        }
        // Stage op(B)[k0 .. +TILE_K, col0 .. +TILE_N].
        for (uint e = tid; e < TILE_K * TILE_N; e += gl_WorkGroupSize.x) {
            uint n = TRANS_B ? e / TILE_K : e % TILE_N;
            uint k = TRANS_B ? e % TILE_K : e / TILE_N;
            uint gn = col0 + n, gk = k0 + k;
            float v = 0.0;
            if (gn < pc.N && gk < pc.K) v = TRANS_B ? b_at(gn * pc.K + gk) : b_at(gk * pc.N + gn);
            staged[B_OFFSET + k * B_STRIDE + n] = v;
        }
        barrier();

        for (uint k = 0u; k < TILE_K; ++k) {
            float a_reg[REG_M];
            float b_reg[REG_N];
            for (uint i = 0u; i < REG_M; ++i) a_reg[i] = staged[k * A_STRIDE + ty + i * rows_step];
            for (uint j = 0u; j < REG_N; ++j) b_reg[j] = staged[B_OFFSET + k * B_STRIDE + tx + j * threads_n];
            for (uint i = 0u; i < REG_M; ++i)
                for (uint j = 0u; j < REG_N; ++j) acc[i][j] += a_reg[i] * b_reg[j];
        }
        barrier();
    }

    for (uint i = 0u; i < REG_M; ++i) {
        uint row = row0 + ty + i * rows_step;
        if (row >= pc.M) continue;
        for (uint j = 0u; j < REG_N; ++j) {
            uint col = col0 + tx + j * threads_n;
            if (col < pc.N) store_result(row, col, acc[i][j]);
        }
    }
}

void main() {
    // ceil(M / TILE_M) without overflow for M near 2^32.
    const uint blocks_m = pc.M / TILE_M + uint(pc.M % TILE_M != 0u);
    const uint blocks_n = pc.N / TILE_N + uint(pc.N % TILE_N != 0u);
    for (uint bm = gl_WorkGroupID.y; bm < blocks_m; bm += gl_NumWorkGroups.y)
        for (uint bn = gl_WorkGroupID.x; bn < blocks_n; bn += gl_NumWorkGroups.x)
            gemm_block(bm * TILE_M, bn * TILE_N);
}
