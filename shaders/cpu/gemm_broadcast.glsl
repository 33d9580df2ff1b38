// gemm_broadcast.glsl: the direct main loop (gemm_direct.glsl: no shared memory, no barriers) with
// taller blocks, for CPU devices whose subgroup is their 8-wide SIMD vector (llvmpipe on AVX2).
// Same contract as gemm_tile.glsl: for every (row, col) of the M×N result,
// acc = Σ_k op(A)[row, k] · op(B)[k, col] in f32, then the includer's store_result(row, col, acc),
// only for row < M and col < N.
//
// Why: llvmpipe turns every storage-buffer load into a loop over the 8 lanes with a bounds check
// per lane and component, even when all lanes read the same address, so loads, not multiply-adds,
// bound gemm_direct.glsl (its 8 op(A) rows per k are read by every lane). Here a workgroup
// computes TILE_M (8, 16 or 32) rows × (local size · COLS) columns; each invocation owns COLS (8)
// adjacent columns of all TILE_M rows, so each op(A) value feeds 8 multiply-adds and each op(B)
// load TILE_M rows. k still runs in order with one multiply-add per (row, col, k), as in the
// other two paths. Out-of-range rows, columns and k read 0 and are never stored.
//
// Where op(A) comes as vec4s (OWN_A_LOADS: a row of A with VEC_K, or with TRANS_A and VEC_M one
// row of A holding 4 rows of op(A) for one k) every invocation loads its own op(A) values, the
// same addresses in all lanes. Otherwise (scalar op(A) loads) lane l of a subgroup loads op(A)
// rows row0 + 8t + l (t < TILE_M / 8) only and subgroupBroadcast hands every row to all 8 lanes.
// On llvmpipe subgroupBroadcast is not a register shuffle but a scalar loop over the 8 lanes per
// component (it looks for the last active lane), about as dear as a whole texel fetch of 4 floats,
// so where vec4 loads are at hand loading beats broadcasting. 8 columns per invocation rather than
// 4 cut the texel fetches per multiply-add by about a third.
//
// Grid: workgroup (x, y) computes the blocks (y + i·gl_NumWorkGroups.y, x + j·gl_NumWorkGroups.x),
// i, j = 0, 1, ..., of the ceil(GEMM_M / TILE_M) × ceil(GEMM_N / (local size · COLS)) blocks of the
// loop's product (with SWAP_OUT the transposed one: its rows are C's columns), a grid-stride loop
// over blocks as in gemm_tile.glsl, so the host caps the grid at the device's workgroup-count limit
// and any M, N still runs; each loop runs once for a grid of one workgroup per block, what every
// normal shape gets. Whole subgroups take the same loop steps, as subgroupBroadcast needs.
//
// Requires: subgroups of exactly 8 invocations (the host picks this path only where the device
// reports subgroup size 8 and the local size is a multiple of 8) and subgroup ballot operations.
// The includer enables GL_KHR_shader_subgroup_ballot, declares `pc` (uint M, N, K), store_result
// and store_result4(row, col, vec4 acc) (store_result for columns col .. col + 3, called only with
// VEC_OUT, so row · N + col is a multiple of 4) before including this file; this file declares
// bindings 0 (A) and 1 (B), each also viewed as vec4s. Specialization: 0 local size x, 1 TILE_M (8,
// 16 or 32), 4 TRANS_A, 5 TRANS_B (ids 2 and 3 are the tiled path's and unused), 9 VEC_K (K % 4 ==
// 0), 10 VEC_N (N % 4 == 0 and B not transposed), 11 VEC_M (TRANS_A and M % 4 == 0), 12 VEC_OUT
// (N % 4 == 0), 13 SWAP_OUT.
//
// SWAP_OUT: the main loop computes the transposed product Cᵀ = op(B)ᵀ · op(A)ᵀ (N × M) and the
// epilogue hands each value back as store_result(row, col) of C. The host then binds B at binding 0
// and A at binding 1 and sets TRANS_A = !transpose_b, TRANS_B = !transpose_a (and VEC_* for that
// product), while the push constants keep C's M and N. For a result only a few columns wide (a
// classifier layer, N = 10): a block's 8 columns per lane would be mostly outside it, so with
// rows and columns swapped 4-8x fewer lanes idle (lib/linear.cpp choose_gemm_tiles). Stores are
// per element then (VEC_OUT false).

#include "spec_ids.h"
layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const uint TILE_M = 8;
layout(constant_id = 4) const bool TRANS_A = false;
layout(constant_id = 5) const bool TRANS_B = false;
layout(constant_id = 9) const bool VEC_K = false;
layout(constant_id = 10) const bool VEC_N = false;
layout(constant_id = 11) const bool VEC_M = false;
layout(constant_id = 12) const bool VEC_OUT = false;
layout(constant_id = 13) const bool SWAP_OUT = false;

// The product the main loop computes: M × N, or N × M with SWAP_OUT.
#define GEMM_M (SWAP_OUT ? pc.N : pc.M)
#define GEMM_N (SWAP_OUT ? pc.M : pc.N)

// Whether every invocation loads its own op(A) values as vec4s (see the header): rows of A with
// VEC_K, or, with TRANS_A, groups of 4 rows of op(A) from one row of A with VEC_M.
const bool OWN_A_LOADS = TRANS_A ? VEC_M : VEC_K;

const uint LANES = 8;       // the subgroup size the broadcasts below are written for
const uint MAX_ROWS = 32;   // largest TILE_M
const uint COLS = 8;        // columns per invocation (kGemmBroadcastCols)

// A and B through texel_io.glsl (storage buffers, or texel buffers in the _texel build):
// a_load4(q) / b_load4(q) is the q-th group of 4 floats, a_load(i) / b_load(i) the i-th float.
VKGRAD_INPUT(0, a)
VKGRAD_INPUT(1, b)

// op(A)[row, k .. k + 3] (zeros past M and K).
vec4 load_a_quad(uint row, uint k) {
    if (row >= GEMM_M) return vec4(0.0);
    if (VEC_K && !TRANS_A) return a_load4((row * pc.K + k) / 4u);
    vec4 v;
    for (uint t = 0u; t < 4u; ++t) {
        const uint kt = k + t;
        v[t] = (VEC_K || kt < pc.K) ? (TRANS_A ? a_load(kt * GEMM_M + row) : a_load(row * pc.K + kt)) : 0.0;
    }
    return v;
}

// op(A)[row, k .. k + 3] for rows row .. row + 3 (row a multiple of 4) as a_rows[i], i < 4, when
// TRANS_A and VEC_M: A[k + t, row .. row + 3] is one vec4 per t, so 4 loads give 16 values; zeros
// past M (all 4 rows at once, M % 4 == 0) and K.
void load_a_rows_transposed(uint row, uint k, out vec4 a_rows[4]) {
    vec4 a_k[4];
    for (uint t = 0u; t < 4u; ++t)
        a_k[t] = row < GEMM_M && (VEC_K || k + t < pc.K) ? a_load4(((k + t) * GEMM_M + row) / 4u) : vec4(0.0);
    for (uint i = 0u; i < 4u; ++i) a_rows[i] = vec4(a_k[0][i], a_k[1][i], a_k[2][i], a_k[3][i]);
}

// op(B)[k + t, col0 .. col0 + 3] as b_rows[t], t < 4 (zeros past K and N).
void load_b_quad(uint k, uint col0, out vec4 b_rows[4]) {
    if (TRANS_B && VEC_K) {
        // Column col of op(B) is row col of B: 4 values of k in one vec4 per column, transposed
        // in registers.
        vec4 cols[4];
        for (uint j = 0u; j < 4u; ++j) {
            const uint col = col0 + j;
            cols[j] = col < GEMM_N ? b_load4((col * pc.K + k) / 4u) : vec4(0.0);
        }
        for (uint t = 0u; t < 4u; ++t) b_rows[t] = vec4(cols[0][t], cols[1][t], cols[2][t], cols[3][t]);
        return;
    }
    for (uint t = 0u; t < 4u; ++t) {
        const uint kt = k + t;
        if (!VEC_K && kt >= pc.K) {
            b_rows[t] = vec4(0.0);
        } else if (VEC_N) {
            b_rows[t] = col0 < GEMM_N ? b_load4((kt * GEMM_N + col0) / 4u) : vec4(0.0);
        } else {
            for (uint j = 0u; j < 4u; ++j) {
                const uint col = col0 + j;
                b_rows[t][j] = col < GEMM_N ? (TRANS_B ? b_load(col * pc.K + kt) : b_load(kt * GEMM_N + col)) : 0.0;
            }
        }
    }
}

// Row 8·T + L of the block: its op(A) values come from lane L's a_mine[T]. The four k steps are
// added one after the other (acc[i] holds the row's 4 columns).
#define GEMM_ROW(T, L)                                          \
    {                                                           \
        const vec4 av = subgroupBroadcast(a_mine[T], L);        \
        acc[8u * T + L] += av.x * b_rows[0];                    \
        acc[8u * T + L] += av.y * b_rows[1];                    \
        acc[8u * T + L] += av.z * b_rows[2];                    \
        acc[8u * T + L] += av.w * b_rows[3];                    \
        acc_hi[8u * T + L] += av.x * b_hi[0];                   \
        acc_hi[8u * T + L] += av.y * b_hi[1];                   \
        acc_hi[8u * T + L] += av.z * b_hi[2];                   \
        acc_hi[8u * T + L] += av.w * b_hi[3];                   \
    }
// The ids of subgroupBroadcast must be constant expressions, hence the unrolled lanes.
#define GEMM_ROWS_OF(T)                                                                            \
    GEMM_ROW(T, 0u) GEMM_ROW(T, 1u) GEMM_ROW(T, 2u) GEMM_ROW(T, 3u) GEMM_ROW(T, 4u) GEMM_ROW(T, 5u) \
    GEMM_ROW(T, 6u) GEMM_ROW(T, 7u)

// Row I of the block from this invocation's own a_rows[I] (OWN_A_LOADS): the same four k steps in
// the same order as GEMM_ROW.
#define GEMM_OWN_ROW(I)                                         \
    {                                                           \
        const vec4 av = a_rows[I];                              \
        acc[I] += av.x * b_rows[0];                             \
        acc[I] += av.y * b_rows[1];                             \
        acc[I] += av.z * b_rows[2];                             \
        acc[I] += av.w * b_rows[3];                             \
        acc_hi[I] += av.x * b_hi[0];                            \
        acc_hi[I] += av.y * b_hi[1];                            \
        acc_hi[I] += av.z * b_hi[2];                            \
        acc_hi[I] += av.w * b_hi[3];                            \
    }
#define GEMM_OWN_ROWS_OF(T)                                                                       \
    GEMM_OWN_ROW(8u * T + 0u) GEMM_OWN_ROW(8u * T + 1u) GEMM_OWN_ROW(8u * T + 2u)               \
    GEMM_OWN_ROW(8u * T + 3u) GEMM_OWN_ROW(8u * T + 4u) GEMM_OWN_ROW(8u * T + 5u)               \
    GEMM_OWN_ROW(8u * T + 6u) GEMM_OWN_ROW(8u * T + 7u)
// This invocation's op(A) values for rows 8·T .. 8·T + 7 of the block into a_rows.
#define GEMM_OWN_LOADS_OF(T)                                                                      \
    if (TRANS_A) {                                                                                \
        vec4 quad[4];                                                                             \
        load_a_rows_transposed(row0 + 8u * T, k, quad);                                           \
        a_rows[8u * T + 0u] = quad[0]; a_rows[8u * T + 1u] = quad[1];                             \
        a_rows[8u * T + 2u] = quad[2]; a_rows[8u * T + 3u] = quad[3];                             \
        load_a_rows_transposed(row0 + 8u * T + 4u, k, quad);                                      \
        a_rows[8u * T + 4u] = quad[0]; a_rows[8u * T + 5u] = quad[1];                             \
        a_rows[8u * T + 6u] = quad[2]; a_rows[8u * T + 7u] = quad[3];                             \
    } else {                                                                                      \
        for (uint i = 0u; i < 8u; ++i) a_rows[8u * T + i] = load_a_quad(row0 + 8u * T + i, k);    \
    }

// This invocation's columns of the block of the loop's product whose top-left element is
// (row0, block_col0).
void gemm_block(uint row0, uint block_col0) {
    const uint lane = gl_SubgroupInvocationID;
    const uint col0 = block_col0 + gl_LocalInvocationID.x * COLS;

    // Every index into acc is a constant after unrolling (the macros below), so the accumulators
    // stay in registers (or plain spill slots) instead of becoming an array indexed per lane.
    vec4 acc[MAX_ROWS], acc_hi[MAX_ROWS];  // columns col0 .. col0 + 3 and col0 + 4 .. col0 + 7
    for (uint i = 0u; i < MAX_ROWS; ++i) acc[i] = acc_hi[i] = vec4(0.0);

    if (OWN_A_LOADS) {
        for (uint k = 0u; k < pc.K; k += 4u) {
            vec4 b_rows[4];
            load_b_quad(k, col0, b_rows);
            vec4 b_hi[4];
            load_b_quad(k, col0 + 4u, b_hi);
            vec4 a_rows[MAX_ROWS];
            GEMM_OWN_LOADS_OF(0u)
            GEMM_OWN_ROWS_OF(0u)
            if (TILE_M > 8u) {
                GEMM_OWN_LOADS_OF(1u)
                GEMM_OWN_ROWS_OF(1u)
            }
            if (TILE_M > 16u) {
                GEMM_OWN_LOADS_OF(2u)
                GEMM_OWN_ROWS_OF(2u)
                GEMM_OWN_LOADS_OF(3u)
                GEMM_OWN_ROWS_OF(3u)
            }
        }
    } else for (uint k = 0u; k < pc.K; k += 4u) {
        vec4 b_rows[4];
        load_b_quad(k, col0, b_rows);
        vec4 b_hi[4];
        load_b_quad(k, col0 + 4u, b_hi);
        vec4 a_mine[MAX_ROWS / LANES];
        for (uint t = 0u; t < MAX_ROWS / LANES; ++t)
            a_mine[t] = t < TILE_M / LANES ? load_a_quad(row0 + LANES * t + lane, k) : vec4(0.0);
        GEMM_ROWS_OF(0u)
        if (TILE_M > 8u) {
            GEMM_ROWS_OF(1u)
        }
        if (TILE_M > 16u) {
            GEMM_ROWS_OF(2u)
            GEMM_ROWS_OF(3u)
        }
    }

    // The epilogue is a loop, not unrolled by hand like the main loop: the compiler unrolls it (the
    // indices into acc are constants again), but only after inlining the store functions once.
    // Unrolled by macros it would have 256 call sites, and linear_forward's epilogue (bias + the
    // activation switch, which is folded only after inlining) would make pipeline creation on
    // llvmpipe many times slower. Where N % 4 == 0 (VEC_OUT) each group of 4 columns (col0 is a
    // multiple of 8) is wholly inside or outside the result and goes out in one store_result4:
    // llvmpipe turns every store into a loop over the lanes, so per-element stores would cost much
    // of a dW kernel's run and JIT compile time.
    for (uint i = 0u; i < MAX_ROWS; ++i) {
        const uint row = row0 + i;
        if (i < TILE_M && row < GEMM_M) {
            if (VEC_OUT) {
                if (col0 + 4u <= GEMM_N) store_result4(row, col0, acc[i]);
                if (col0 + 8u <= GEMM_N) store_result4(row, col0 + 4u, acc_hi[i]);
            } else {
                // One call site each, the swap folded into the indices: every call site inlines
                // the includer's whole epilogue.
                for (uint j = 0u; j < 8u; ++j) {
                    const uint col = col0 + j;
                    const float v = j < 4u ? acc[i][j] : acc_hi[i][j - 4u];
                    if (col < GEMM_N) store_result(SWAP_OUT ? col : row, SWAP_OUT ? row : col, v);
                }
            }
        }
    }
}

void main() {
    const uint block_n = gl_WorkGroupSize.x * COLS;
    // ceil(GEMM_M / TILE_M) without overflow for sizes near 2^32.
    const uint blocks_m = GEMM_M / TILE_M + uint(GEMM_M % TILE_M != 0u);
    const uint blocks_n = GEMM_N / block_n + uint(GEMM_N % block_n != 0u);
    for (uint bm = gl_WorkGroupID.y; bm < blocks_m; bm += gl_NumWorkGroups.y)
        for (uint bn = gl_WorkGroupID.x; bn < blocks_n; bn += gl_NumWorkGroups.x)
            gemm_block(bm * TILE_M, bn * block_n);
}
