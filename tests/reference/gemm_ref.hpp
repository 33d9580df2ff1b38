// gemm_ref.hpp — double-precision CPU reference of vkgrad's matrix products (include/vkgrad/linear.hpp):
// plain loops, the specification the shaders are tested against. Matrices are row-major; inputs are
// float (as uploaded), results double.
#pragma once

#include <cstddef>

namespace vkgrad::ref {

// op(A) is (M,K): A stored (M,K), or (K,M) when transpose_a. op(B) is (K,N): B stored (K,N), or
// (N,K) when transpose_b. C is (M,N), read only when beta != 0:
//     C[i,j] = alpha * Σ_k op(A)[i,k] * op(B)[k,j] + beta * C[i,j]
void gemm(const float* A, const float* B, double* C, size_t M, size_t N, size_t K, bool transpose_a, bool transpose_b,
          double alpha, double beta);

// Σ_k |op(A)[i,k] * op(B)[k,j]|, the scale of the rounding error of C[i,j]. mag is (M,N).
void gemm_magnitude(const float* A, const float* B, double* mag, size_t M, size_t N, size_t K, bool transpose_a,
                    bool transpose_b);

// X (N,in), W (out,in), b (out) or nullptr for no bias, Y (N,out), pre-activation:
//     Y[n,o] = Σ_i X[n,i] * W[o,i] + b[o]
void linear_forward(const float* X, const float* W, const float* b, double* Y, size_t N, size_t in, size_t out);

// X (N,in), W (out,in), dY (N,out); dX (N,in), dW (out,in), db (out), each overwritten:
//     dX[n,i] = Σ_o dY[n,o] * W[o,i]
//     dW[o,i] = Σ_n dY[n,o] * X[n,i]
//     db[o]   = Σ_n dY[n,o]
void linear_backward(const float* X, const float* W, const float* dY, double* dX, double* dW, double* db, size_t N,
                     size_t in, size_t out);

}  // namespace vkgrad::ref
