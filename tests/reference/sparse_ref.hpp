// sparse_ref.hpp — double-precision CPU reference of sparse_linear_forward
// (include/vkgrad/sparse.hpp): plain loops, the specification the shader is tested against.
#pragma once

#include <cstddef>

namespace vkgrad::ref {

// X (N,in), W (out,in) dense with structural zeros, b (out) or nullptr for no bias, Y (N,out),
// pre-activation, summing only the products whose weight is not ±0:
//     Y[n,o] = Σ_{i : W[o,i] != 0} X[n,i] * W[o,i] + b[o]
// (so an inf or NaN in X meeting a zero weight does not reach Y, unlike the dense product).
void sparse_linear_forward(const float* X, const float* W, const float* b, double* Y, size_t N, size_t in, size_t out);

// Σ_{i : W[o,i] != 0} |X[n,i] * W[o,i]|, the scale of the rounding error of Y[n,o]. mag is (N,out).
void sparse_linear_magnitude(const float* X, const float* W, double* mag, size_t N, size_t in, size_t out);

}  // namespace vkgrad::ref
