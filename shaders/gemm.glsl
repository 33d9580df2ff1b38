// gemm: C = alpha · op(A) · op(B) + beta · C, f32 in (binary16 A and B in the _f16 builds, see
// gemm_tile.glsl and texel_io.glsl), f32 accumulate, f32 C. C is M×N row-major;
// op(A) (M×K) and op(B) (K×N) as described in gemm_tile.glsl. With beta == 0, C is not read, so
// whatever it held (NaN included) does not leak into the result (BLAS convention).
//
// Bindings (set 0): 0 A: M·K floats, read; 1 B: K·N floats, read; 2 C: M·N floats, read
//                   (only when beta != 0) and written.
// Push constants:   M, N, K, alpha, beta.
// Specialization:   0 local size x, 1 TILE_M, 2 TILE_N, 3 TILE_K, 4 TRANS_A, 5 TRANS_B (see
//                   gemm_tile.glsl); the direct and broadcast variants take more (their .glsl);
//                   the _f16 builds 14, the mask of bindings (bit 0 A, bit 1 B) that hold f16.
// With GEMM_DIRECT defined (the _direct variant) the main loop is gemm_direct.glsl's instead, with
// GEMM_BROADCAST (the _broadcast variant) gemm_broadcast.glsl's, which with SWAP_OUT takes B at
// binding 0 and A at binding 1 (see there).
// Dispatch:         (ceil(N / TILE_N), ceil(M / TILE_M), 1) workgroups (of the loop's product:
//                   N × M with SWAP_OUT), or fewer in either dimension: each workgroup then
//                   computes several blocks (see the main loops' Grid).

layout(push_constant) uniform Push { uint M; uint N; uint K; float alpha; float beta; } pc;

layout(set = 0, binding = 2) buffer MatrixC { float c[]; };

void store_result(uint row, uint col, float acc) {
    uint idx = row * pc.N + col;
    float v = pc.alpha * acc;
    if (pc.beta != 0.0) v += pc.beta * c[idx];
    c[idx] = v;
}

#if defined(GEMM_BROADCAST)
// Columns col .. col + 3 at once, (row · N + col) a multiple of 4 (gemm_broadcast.glsl's VEC_OUT):
// one 16-byte store (texel_io.glsl) instead of four.
VKGRAD_OUTPUT(2, c)
layout(set = 0, binding = 2) readonly buffer MatrixCQuads { vec4 c_quads_in[]; };
void store_result4(uint row, uint col, vec4 acc) {
    const uint q = (row * pc.N + col) / 4u;
    vec4 v = pc.alpha * acc;
    if (pc.beta != 0.0) v += pc.beta * c_quads_in[q];
    c_store4(q, v);
}
#include "gemm_broadcast.glsl"
#elif defined(GEMM_DIRECT)
#include "gemm_direct.glsl"
#else
#include "gemm_tile.glsl"
#endif
