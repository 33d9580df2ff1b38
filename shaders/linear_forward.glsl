// linear_forward: Y = act(X · Wᵀ + bias) in one pass (nn.Linear followed by an activation): the
// gemm main loop of gemm_tile.glsl with op(A) = X and op(B) = Wᵀ (TRANS_B), and the bias add plus
// activation applied to each accumulator in registers before the single store. The activation is
// applied exactly as in activation_forward.comp: with SPARSE, y = v <= theta ? 0 : f(v), so a NaN v
// still gives f(NaN) = NaN.
//
// Shapes: X is M×K (batch × in_features), W is N×K (out_features × in_features, PyTorch layout),
// bias N, Y M×N.
// Bindings (set 0): 0 X, read; 1 W, read; 2 bias: N floats, read only when HAS_BIAS (otherwise any
//                   buffer is bound there); 3 Y: M·N floats, written.
// Push constants:   M, N, K, p0, p1 (activation parameters), theta (SPARSE cutoff).
// Specialization:   0..5 as in gemm_tile.glsl (TRANS_A false, TRANS_B true), 6 HAS_BIAS,
//                   7 ACT_ID (row id of include/vkgrad/activations.def), 8 SPARSE.
// With GEMM_DIRECT defined (the _direct variant) the main loop is gemm_direct.glsl's instead, with
// GEMM_BROADCAST (the _broadcast variant) gemm_broadcast.glsl's, which with SWAP_OUT takes W at
// binding 0 and X at binding 1 (see there).
// Dispatch:         (ceil(N / TILE_N), ceil(M / TILE_M), 1) workgroups (of the loop's product:
//                   N × M with SWAP_OUT), or fewer in either dimension: each workgroup then
//                   computes several blocks (see the main loops' Grid).

#include "activations.glsl"

layout(constant_id = 6) const bool HAS_BIAS = true;
layout(constant_id = 7) const uint ACT_ID = 0;
layout(constant_id = 8) const bool SPARSE = false;

layout(push_constant) uniform Push { uint M; uint N; uint K; float p0; float p1; float theta; } pc;

layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer MatrixY { float y[]; };

void store_result(uint row, uint col, float acc) {
    float v = HAS_BIAS ? acc + bias[col] : acc;
    y[row * pc.N + col] = (SPARSE && v <= pc.theta) ? 0.0 : activation_forward(ACT_ID, v, pc.p0, pc.p1);
}

#if defined(GEMM_BROADCAST)
// store_result for columns col .. col + 3, (row · N + col) a multiple of 4 (gemm_broadcast.glsl's
// VEC_OUT): the same arithmetic per element, one 16-byte store (texel_io.glsl) instead of four.
VKGRAD_OUTPUT(3, y)
layout(set = 0, binding = 2) readonly buffer BiasQuads { vec4 bias_quads[]; };
void store_result4(uint row, uint col, vec4 acc) {
    vec4 v = HAS_BIAS ? acc + bias_quads[col / 4u] : acc;
    for (uint t = 0u; t < 4u; ++t)
        v[t] = (SPARSE && v[t] <= pc.theta) ? 0.0 : activation_forward(ACT_ID, v[t], pc.p0, pc.p1);
    y_store4((row * pc.N + col) / 4u, v);
}
#include "gemm_broadcast.glsl"
#elif defined(GEMM_DIRECT)
#include "gemm_direct.glsl"
#else
#include "gemm_tile.glsl"
#endif
