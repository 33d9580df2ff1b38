// gemm_direct.glsl: a matrix-product main loop without shared memory or barriers, for devices that
// run compute shaders on CPU cores (llvmpipe / lavapipe, SwiftShader), where a workgroup barrier is
// a coroutine switch and shared memory is plain memory behind per-lane gathers. Same contract as
// gemm_tile.glsl: for every (row, col) of the M×N result, acc = Σ_k op(A)[row, k] · op(B)[k, col] in
// f32, then the includer's store_result(row, col, acc), only for row < M and col < N.
//
// Blocking: a workgroup computes TILE_M (= DIRECT_M, 8) rows × (local size · DIRECT_N) columns; each
// invocation owns DIRECT_N (4) adjacent columns of those rows, so it keeps an 8×4 block of
// accumulators. The rows depend only on the workgroup, so every op(A) load has the same address in
// all invocations (a scalar load, broadcast), and each op(B) load brings DIRECT_N values that are
// used DIRECT_M times. k runs in order, one multiply-add per (row, col, k), exactly as the tiled
// path, so both paths sum in the same order. Out-of-range rows and columns read 0 and are never
// stored.
//
// Grid: workgroup (x, y) computes the blocks (y + i·gl_NumWorkGroups.y, x + j·gl_NumWorkGroups.x),
// i, j = 0, 1, ..., of the ceil(M / DIRECT_M) × ceil(N / (local size · DIRECT_N)) blocks of the
// result (a grid-stride loop over blocks, as in gemm_tile.glsl), so the host caps the grid at the
// device's workgroup-count limit and any M, N still runs; each loop runs once for a grid of one
// workgroup per block, what every normal shape gets.
//
// Wider loads where the layout allows (llvmpipe turns every per-invocation load into a gather, so
// fewer, wider loads pay): with VEC_K (K % 4 == 0) k advances by 4 and a row of A (when not
// transposed) or a column of Bᵀ (TRANS_B) gives its 4 values in one vec4 load; with VEC_N (B not
// transposed, N % 4 == 0) an invocation's 4 columns of B come in one vec4 load. The four k steps are
// still added one after the other, so the sums are the scalar loop's, bit for bit.
//
// The includer declares `pc` (uint M, N, K) and store_result before including this file; this file
// declares bindings 0 (A) and 1 (B), each also viewed as vec4s. Specialization: 0 local size x,
// 1 TILE_M (must be DIRECT_M), 4 TRANS_A, 5 TRANS_B (ids 2 and 3 are the tiled path's and unused
// here), 9 VEC_K, 10 VEC_N.

#include "spec_ids.h"
layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 4) const bool TRANS_A = false;
layout(constant_id = 5) const bool TRANS_B = false;
layout(constant_id = 9) const bool VEC_K = false;
layout(constant_id = 10) const bool VEC_N = false;

const uint DIRECT_M = 8;
const uint DIRECT_N = 4;

// A and B through texel_io.glsl (storage buffers, or texel buffers in the _texel build):
// a_load4(q) / b_load4(q) is the q-th group of 4 floats, a_load(i) / b_load(i) the i-th float.
VKGRAD_INPUT(0, a)
VKGRAD_INPUT(1, b)

// op(B)[k, col0 .. col0 + 3] (zeros past N).
vec4 load_b_row(uint k, uint col0) {
    if (VEC_N) return col0 < pc.N ? b_load4((k * pc.N + col0) / 4u) : vec4(0.0);
    vec4 v;
    for (uint j = 0u; j < DIRECT_N; ++j) {
        const uint col = col0 + j;
        v[j] = col < pc.N ? (TRANS_B ? b_load(col * pc.K + k) : b_load(k * pc.N + col)) : 0.0;
    }
    return v;
}

// This invocation's columns of the block whose top-left element is (row0, block_col0).
void gemm_block(uint row0, uint block_col0) {
    const uint col0 = block_col0 + gl_LocalInvocationID.x * DIRECT_N;

    float acc[DIRECT_M][DIRECT_N];
    for (uint i = 0u; i < DIRECT_M; ++i)
        for (uint j = 0u; j < DIRECT_N; ++j) acc[i][j] = 0.0;

    if (VEC_K) {
        const uint K4 = pc.K / 4u;
        for (uint k4 = 0u; k4 < K4; ++k4) {
            const uint k = 4u * k4;
            // b_reg[j][t] = op(B)[k + t, col0 + j]
            vec4 b_reg[DIRECT_N];
            if (TRANS_B) {
                for (uint j = 0u; j < DIRECT_N; ++j) {
                    const uint col = col0 + j;
                    b_reg[j] = col < pc.N ? b_load4(col * K4 + k4) : vec4(0.0);
                }
            } else {
                vec4 rows[4];
                for (uint t = 0u; t < 4u; ++t) rows[t] = load_b_row(k + t, col0);
                for (uint j = 0u; j < DIRECT_N; ++j) b_reg[j] = vec4(rows[0][j], rows[1][j], rows[2][j], rows[3][j]);
            }
            for (uint i = 0u; i < DIRECT_M; ++i) {
                const uint row = row0 + i;
                vec4 a_val = vec4(0.0);
                if (row < pc.M) {
                    a_val = TRANS_A ? vec4(a_load(k * pc.M + row), a_load((k + 1u) * pc.M + row), a_load((k + 2u) * pc.M + row),
                                           a_load((k + 3u) * pc.M + row))
                                    : a_load4(row * K4 + k4);
                }
                for (uint j = 0u; j < DIRECT_N; ++j) {
                    acc[i][j] += a_val.x * b_reg[j].x;
                    acc[i][j] += a_val.y * b_reg[j].y;
                    acc[i][j] += a_val.z * b_reg[j].z;
                    acc[i][j] += a_val.w * b_reg[j].w;
                }
            }
        }
    } else {
        for (uint k = 0u; k < pc.K; ++k) {
            const vec4 b_reg = load_b_row(k, col0);
            for (uint i = 0u; i < DIRECT_M; ++i) {
                const uint row = row0 + i;
                const float a_val = row < pc.M ? (TRANS_A ? a_load(k * pc.M + row) : a_load(row * pc.K + k)) : 0.0;
                for (uint j = 0u; j < DIRECT_N; ++j) acc[i][j] += a_val * b_reg[j];
            }
        }
    }

    for (uint i = 0u; i < DIRECT_M; ++i) {
        const uint row = row0 + i;
        if (row >= pc.M) break;
        for (uint j = 0u; j < DIRECT_N; ++j) {
            const uint col = col0 + j;
            if (col < pc.N) store_result(row, col, acc[i][j]);
        }
    }
}

void main() {
    const uint block_n = gl_WorkGroupSize.x * DIRECT_N;
    // ceil(M / DIRECT_M) without overflow for M near 2^32.
    const uint blocks_m = pc.M / DIRECT_M + uint(pc.M % DIRECT_M != 0u);
    const uint blocks_n = pc.N / block_n + uint(pc.N % block_n != 0u);
    for (uint bm = gl_WorkGroupID.y; bm < blocks_m; bm += gl_NumWorkGroups.y)
        for (uint bn = gl_WorkGroupID.x; bn < blocks_n; bn += gl_NumWorkGroups.x)
            gemm_block(bm * DIRECT_M, bn * block_n);
}
