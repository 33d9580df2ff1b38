#include "reference/gemm_ref.hpp"

#include <cmath>

namespace vkgrad::ref {

namespace {
double op_a(const float* A, size_t M, size_t K, bool transpose, size_t i, size_t k) {
  return transpose ? A[k * M + i] : A[i * K + k];
}
double op_b(const float* B, size_t K, size_t N, bool transpose, size_t k, size_t j) {
  return transpose ? B[j * K + k] : B[k * N + j];
}
}  // namespace

void gemm(const float* A, const float* B, double* C, size_t M, size_t N, size_t K, bool transpose_a, bool transpose_b,
          double alpha, double beta) {
  for (size_t i = 0; i < M; ++i) {
    for (size_t j = 0; j < N; ++j) {
      double sum = 0;
      for (size_t k = 0; k < K; ++k) sum += op_a(A, M, K, transpose_a, i, k) * op_b(B, K, N, transpose_b, k, j);
      C[i * N + j] = alpha * sum + (beta != 0 ? beta * C[i * N + j] : 0.0);
    }
  }
}

void gemm_magnitude(const float* A, const float* B, double* mag, size_t M, size_t N, size_t K, bool transpose_a,
                    bool transpose_b) {
  for (size_t i = 0; i < M; ++i) {
    for (size_t j = 0; j < N; ++j) {
      double sum = 0;
      for (size_t k = 0; k < K; ++k) {
        sum += std::fabs(op_a(A, M, K, transpose_a, i, k) * op_b(B, K, N, transpose_b, k, j));
      }
      mag[i * N + j] = sum;
    }
  }
}

void linear_forward(const float* X, const float* W, const float* b, double* Y, size_t N, size_t in, size_t out) {
  for (size_t n = 0; n < N; ++n) {
    for (size_t o = 0; o < out; ++o) {
      double sum = b ? double(b[o]) : 0.0;
      for (size_t i = 0; i < in; ++i) sum += double(X[n * in + i]) * W[o * in + i];
      Y[n * out + o] = sum;
    }
  }
}

void linear_backward(const float* X, const float* W, const float* dY, double* dX, double* dW, double* db, size_t N,
                     size_t in, size_t out) {
  for (size_t n = 0; n < N; ++n) {
    for (size_t i = 0; i < in; ++i) {
      double sum = 0;
      for (size_t o = 0; o < out; ++o) sum += double(dY[n * out + o]) * W[o * in + i];
      dX[n * in + i] = sum;
    }
  }
  for (size_t o = 0; o < out; ++o) {
    for (size_t i = 0; i < in; ++i) {
      double sum = 0;
      for (size_t n = 0; n < N; ++n) sum += double(dY[n * out + o]) * X[n * in + i];
      dW[o * in + i] = sum;
    }
    double sum = 0;
    for (size_t n = 0; n < N; ++n) sum += dY[n * out + o];
    db[o] = sum;
  }
}

}  // namespace vkgrad::ref
