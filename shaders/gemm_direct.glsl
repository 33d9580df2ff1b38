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
// The includer declares `pc` (uint M, N, K) and store_result before including this file; this file
// declares bindings 0 (A) and 1 (B). Specialization: 0 local size x, 1 TILE_M (must be DIRECT_M),
// 4 TRANS_A, 5 TRANS_B (ids 2 and 3 are the tiled path's and unused here).

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const bool TRANS_A = false;
layout(constant_id = 5) const bool TRANS_B = false;

const uint DIRECT_M = 8;
const uint DIRECT_N = 4;

layout(set = 0, binding = 0) readonly buffer MatrixA { float a[]; };
layout(set = 0, binding = 1) readonly buffer MatrixB { float b[]; };

void main() {
    const uint row0 = gl_WorkGroupID.y * DIRECT_M;
    const uint col0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * DIRECT_N;

    float acc[DIRECT_M][DIRECT_N];
    for (uint i = 0u; i < DIRECT_M; ++i)
        for (uint j = 0u; j < DIRECT_N; ++j) acc[i][j] = 0.0;

    for (uint k = 0u; k < pc.K; ++k) {
        float b_reg[DIRECT_N];
        for (uint j = 0u; j < DIRECT_N; ++j) {
            const uint col = col0 + j;
            b_reg[j] = col < pc.N ? (TRANS_B ? b[col * pc.K + k] : b[k * pc.N + col]) : 0.0;
        }
        for (uint i = 0u; i < DIRECT_M; ++i) {
            const uint row = row0 + i;
            const float a_val = row < pc.M ? (TRANS_A ? a[k * pc.M + row] : a[row * pc.K + k]) : 0.0;
            for (uint j = 0u; j < DIRECT_N; ++j) acc[i][j] += a_val * b_reg[j];
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
