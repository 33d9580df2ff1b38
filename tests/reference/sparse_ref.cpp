#include "reference/sparse_ref.hpp"

#include <cmath>

namespace vkgrad::ref {

void sparse_linear_forward(const float* X, const float* W, const float* b, double* Y, size_t N, size_t in, size_t out) {
  for (size_t n = 0; n < N; ++n) {
    for (size_t o = 0; o < out; ++o) {
      double sum = 0;
      for (size_t i = 0; i < in; ++i) {
        if (W[o * in + i] != 0.0f) sum += double(X[n * in + i]) * double(W[o * in + i]);
      }
      Y[n * out + o] = sum + (b ? double(b[o]) : 0.0);
    }
  }
}

void sparse_linear_magnitude(const float* X, const float* W, double* mag, size_t N, size_t in, size_t out) {
  for (size_t n = 0; n < N; ++n) {
    for (size_t o = 0; o < out; ++o) {
      double sum = 0;
      for (size_t i = 0; i < in; ++i) {
        if (W[o * in + i] != 0.0f) sum += std::fabs(double(X[n * in + i]) * double(W[o * in + i]));
      }
      mag[n * out + o] = sum;
    }
  }
}

}  // namespace vkgrad::ref
