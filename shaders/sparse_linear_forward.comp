#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// sparse_linear_forward: Y = act(X · Wᵀ + bias) with W (N × K) in a compressed sparse form
// (include/vkgrad/sparse.hpp): each output sums only its weight row's stored entries, in ascending
// column order, then applies the bias and the activation exactly as linear_forward.glsl's
// store_result does (with SPARSE, y = v <= theta ? 0 : f(v)).
//
// Shapes: X is M×K (batch × in_features), W N×K (out_features × in_features), bias N, Y M×N.
// Bindings (set 0): 0 X: M·K floats, read (with TRANSPOSED its transpose Xᵀ, K×M); 1 offsets
//                   (uint): CSR: N + 1 row offsets, ELL: N row lengths; 2 columns (uint) and 3
//                   values (float): CSR: row n's entries at offsets[n] .. offsets[n + 1] - 1, ELL:
//                   entry k of row n at k·N + n; 4 bias: N floats, read only when HAS_BIAS
//                   (otherwise any buffer is bound there); 5 Y: M·N floats, written.
// Push constants:   M, N, K, p0, p1 (activation parameters), theta (SPARSE cutoff).
// Specialization:   0 local size x, 1 HAS_BIAS, 2 ACT_ID (row id of include/vkgrad/activations.def),
//                   3 SPARSE, 4 ELL (the layout of bindings 1..3), 5 ROWS (batch rows per
//                   invocation, 1..MAX_ROWS), 6 TRANSPOSED (binding 0 holds Xᵀ), 7 VEC4 (with
//                   TRANSPOSED, M and ROWS multiples of 4: Xᵀ read a quad of rows at a time).
// Dispatch:         a grid-stride loop over ceil(M / ROWS) · N items, each computing one output
//                   feature for ROWS batch rows: any grid size works. The ROWS rows share each
//                   weight entry they load. The _texel build reads bindings 0..3 through texel
//                   buffers.

#include "texel_io.glsl"
#include "activations.glsl"
#include "spec_ids.h"

layout(local_size_x = 64, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(constant_id = 1) const bool HAS_BIAS = true;
layout(constant_id = 2) const uint ACT_ID = 0;
layout(constant_id = 3) const bool SPARSE = false;
layout(constant_id = 4) const bool ELL = false;
layout(constant_id = 5) const uint ROWS = 4;
layout(constant_id = 6) const bool TRANSPOSED = false;
layout(constant_id = 7) const bool VEC4 = false;
// The capacity of the per-invocation accumulator arrays (a literal: ROWS only bounds the loops).
const uint MAX_ROWS = 8u;

layout(push_constant) uniform Push { uint M; uint N; uint K; float p0; float p1; float theta; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_INPUT(3, values)
VKGRAD_OUTPUT(5, y)
#if VKGRAD_TEXEL
layout(set = 0, binding = 1) uniform usamplerBuffer offsets_texels;
layout(set = 0, binding = 2) uniform usamplerBuffer columns_texels;
uint offsets_load(uint i) { return texelFetch(offsets_texels, int(i >> 2u))[i & 3u]; }
uint columns_load(uint i) { return texelFetch(columns_texels, int(i >> 2u))[i & 3u]; }
#else
layout(set = 0, binding = 1) readonly buffer Offsets { uint offsets[]; };
layout(set = 0, binding = 2) readonly buffer Columns { uint columns[]; };
uint offsets_load(uint i) { return offsets[i]; }
uint columns_load(uint i) { return columns[i]; }
#endif
layout(set = 0, binding = 4) readonly buffer Bias { float bias[]; };

void main() {
    const uint blocks = (pc.M + ROWS - 1u) / ROWS;
    const uint items = blocks * pc.N;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    // The step never wraps past 2^32 (items may come close to it).
    for (uint item = gl_GlobalInvocationID.x; item < items; item = items - item > stride ? item + stride : items) {
        // Row-major X: consecutive invocations take consecutive output features of the same rows.
        // Xᵀ: consecutive invocations take consecutive blocks of rows of the same output feature,
        // so they read the same weight entries and adjacent elements of Xᵀ.
        const uint n = TRANSPOSED ? item / blocks : item % pc.N;
        const uint m0 = (TRANSPOSED ? item % blocks : item / pc.N) * ROWS;
        // Rows past the last one read the last row (valid memory, no branch in the inner loop) and
        // are not stored. base[r]: where row r's elements start (X) or its offset in a row of Xᵀ.
        uint base[MAX_ROWS];
        float acc[MAX_ROWS];
        for (uint r = 0u; r < ROWS; ++r) {
            base[r] = TRANSPOSED ? min(m0 + r, pc.M - 1u) : min(m0 + r, pc.M - 1u) * pc.K;
            acc[r] = 0.0;
        }
        // CSR: entries first .. first + count - 1, step 1; ELL: n, n + N, ..., count of them.
        const uint first = ELL ? n : offsets_load(n);
        const uint count = ELL ? offsets_load(n) : offsets_load(n + 1u) - first;
        const uint step = ELL ? pc.N : 1u;
        for (uint k = 0u; k < count; ++k) {
            const uint j = first + k * step;
            const uint col = columns_load(j);
            const float w = values_load(j);
            if (VEC4) {
                // Rows m0 .. m0 + ROWS - 1 of input col: ROWS / 4 adjacent quads of Xᵀ's row col (a
                // quad past the last row reads the last quad instead; it is not stored).
                const uint quads = pc.M / 4u;
                for (uint q = 0u; q < ROWS / 4u; ++q) {
                    const vec4 xq = x_load4(col * quads + min(m0 / 4u + q, quads - 1u));
                    for (uint t = 0u; t < 4u; ++t) acc[4u * q + t] += xq[t] * w;
                }
            } else {
                for (uint r = 0u; r < ROWS; ++r) acc[r] += x_load(TRANSPOSED ? col * pc.M + base[r] : base[r] + col) * w;
            }
        }
        const float b = HAS_BIAS ? bias[n] : 0.0;
        for (uint r = 0u; r < ROWS; ++r) {
            if (m0 + r >= pc.M) break;
            const float v = HAS_BIAS ? acc[r] + b : acc[r];
            y_store((m0 + r) * pc.N + n, (SPARSE && v <= pc.theta) ? 0.0 : activation_forward(ACT_ID, v, pc.p0, pc.p1));
        }
    }
}
