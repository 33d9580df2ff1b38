#include "batchnorm_ref.hpp"

#include <cmath>
#include <vector>

namespace vkgrad::ref {

void batchnorm_forward_train(const double* x, size_t N, size_t C, const double* gamma, const double* beta, double eps,
                             double* y, double* mean, double* invstd, double* var_unbiased) {
  for (size_t c = 0; c < C; ++c) {
    double sum = 0;
    for (size_t r = 0; r < N; ++r) sum += x[r * C + c];
    const double m = sum / double(N);
    double sq = 0;
    for (size_t r = 0; r < N; ++r) {
      const double d = x[r * C + c] - m;
      sq += d * d;
    }
    const double var = sq / double(N);
    const double s = 1.0 / std::sqrt(var + eps);
    const double g = gamma ? gamma[c] : 1.0;
    const double b = beta ? beta[c] : 0.0;
    for (size_t r = 0; r < N; ++r) y[r * C + c] = (x[r * C + c] - m) * s * g + b;
    mean[c] = m;
    invstd[c] = s;
    var_unbiased[c] = var * double(N) / double(N - 1);
  }
}

void batchnorm_update_running(double* running_mean, double* running_var, const double* mean, const double* var_unbiased,
                              size_t C, double momentum) {
  for (size_t c = 0; c < C; ++c) {
    running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean[c];
    running_var[c] = (1 - momentum) * running_var[c] + momentum * var_unbiased[c];
  }
}

void batchnorm_forward_eval(const double* x, size_t N, size_t C, const double* gamma, const double* beta,
                            const double* running_mean, const double* running_var, double eps, double* y) {
  for (size_t r = 0; r < N; ++r) {
    for (size_t c = 0; c < C; ++c) {
      const double v = (x[r * C + c] - running_mean[c]) / std::sqrt(running_var[c] + eps);
      y[r * C + c] = v * (gamma ? gamma[c] : 1.0) + (beta ? beta[c] : 0.0);
    }
  }
}

void batchnorm_backward(const double* x, const double* dy, size_t N, size_t C, const double* mean, const double* invstd,
                        const double* gamma, double* dx, double* dgamma, double* dbeta) {
  for (size_t c = 0; c < C; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (size_t r = 0; r < N; ++r) {
      const size_t i = r * C + c;
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * (x[i] - mean[c]) * invstd[c];
    }
    const double g = gamma ? gamma[c] : 1.0;
    for (size_t r = 0; r < N; ++r) {
      const size_t i = r * C + c;
      const double xhat = (x[i] - mean[c]) * invstd[c];
      dx[i] = g * invstd[c] / double(N) * (double(N) * dy[i] - sum_dy - xhat * sum_dy_xhat);
    }
    if (dgamma) dgamma[c] = sum_dy_xhat;
    if (dbeta) dbeta[c] = sum_dy;
  }
}

}  // namespace vkgrad::ref
