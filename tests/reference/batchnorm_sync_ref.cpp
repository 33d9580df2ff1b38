#include "reference/batchnorm_sync_ref.hpp"

#include <cmath>

namespace vkgrad::ref {

void batchnorm_statistics(const double* x, size_t N, size_t C, double* mean, double* m2) {
  for (size_t c = 0; c < C; ++c) {
    double sum = 0;
    for (size_t r = 0; r < N; ++r) sum += x[r * C + c];
    mean[c] = sum / double(N);
    double sq = 0;
    for (size_t r = 0; r < N; ++r) sq += (x[r * C + c] - mean[c]) * (x[r * C + c] - mean[c]);
    m2[c] = sq;
  }
}

void batchnorm_combine_statistics(const double* means, const double* m2s, const uint64_t* counts, size_t R, size_t C,
                                  double eps, double* mean, double* invstd, double* var_unbiased) {
  double n = 0;
  for (size_t r = 0; r < R; ++r) n += double(counts[r]);
  for (size_t c = 0; c < C; ++c) {
    double sum = 0;
    for (size_t r = 0; r < R; ++r) {
      if (counts[r]) sum += double(counts[r]) * means[r * C + c];
    }
    mean[c] = sum / n;
    double m2 = 0;
    for (size_t r = 0; r < R; ++r) {
      if (!counts[r]) continue;
      const double d = means[r * C + c] - mean[c];
      m2 += m2s[r * C + c] + double(counts[r]) * d * d;
    }
    invstd[c] = 1.0 / std::sqrt(m2 / n + eps);
    var_unbiased[c] = m2 / (n - 1);
  }
}

void batchnorm_backward_sums(const double* x, const double* dy, size_t N, size_t C, const double* mean,
                             const double* invstd, double* sum_dy, double* sum_dyx) {
  for (size_t c = 0; c < C; ++c) {
    sum_dy[c] = 0;
    sum_dyx[c] = 0;
    for (size_t r = 0; r < N; ++r) {
      sum_dy[c] += dy[r * C + c];
      sum_dyx[c] += dy[r * C + c] * (x[r * C + c] - mean[c]) * invstd[c];
    }
  }
}

void batchnorm_backward_apply(const double* x, const double* dy, size_t N, size_t C, const double* mean,
                              const double* invstd, const double* gamma, const double* sum_dy, const double* sum_dyx,
                              double count, double* dx) {
  for (size_t r = 0; r < N; ++r) {
    for (size_t c = 0; c < C; ++c) {
      const size_t i = r * C + c;
      const double xhat = (x[i] - mean[c]) * invstd[c];
      dx[i] = (gamma ? gamma[c] : 1.0) * invstd[c] * (dy[i] - sum_dy[c] / count - xhat * sum_dyx[c] / count);
    }
  }
}

}  // namespace vkgrad::ref
