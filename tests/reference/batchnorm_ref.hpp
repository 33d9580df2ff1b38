// batchnorm_ref.hpp — double-precision CPU reference of BatchNorm1d (include/vkgrad/batchnorm.hpp):
// the specification the shaders are tested against. Plain loops; x is (N, C) row-major, channel c of
// row r at x[r * C + c]. gamma / beta may be null (affine = false: gamma = 1, beta = 0).
#pragma once

#include <cstddef>

namespace vkgrad::ref {

// Training mode. x, y: (N, C); gamma, beta, mean, invstd, var_unbiased: (C). N >= 2.
// mean = Σx / N, var = Σ(x - mean)² / N (two passes), invstd = 1 / sqrt(var + eps),
// y = (x - mean) · invstd · gamma + beta, var_unbiased = var · N / (N - 1).
void batchnorm_forward_train(const double* x, size_t N, size_t C, const double* gamma, const double* beta, double eps,
                             double* y, double* mean, double* invstd, double* var_unbiased);

// Running-statistics update of one training step. running_mean, running_var, mean, var_unbiased: (C).
// running = (1 - momentum) · running + momentum · batch.
void batchnorm_update_running(double* running_mean, double* running_var, const double* mean, const double* var_unbiased,
                              size_t C, double momentum);

// Eval mode. x, y: (N, C); gamma, beta, running_mean, running_var: (C).
// y = (x - running_mean) / sqrt(running_var + eps) · gamma + beta.
void batchnorm_forward_eval(const double* x, size_t N, size_t C, const double* gamma, const double* beta,
                            const double* running_mean, const double* running_var, double eps, double* y);

// Training-mode backward from the saved statistics. x, dy, dx: (N, C); mean, invstd, gamma, dgamma,
// dbeta: (C). Overwrites dx, dgamma, dbeta (dgamma / dbeta may be null). With xhat = (x - mean)·invstd:
// dgamma = Σ dy·xhat, dbeta = Σ dy, dx = gamma · invstd / N · (N·dy - Σdy - xhat · Σ dy·xhat).
void batchnorm_backward(const double* x, const double* dy, size_t N, size_t C, const double* mean, const double* invstd,
                        const double* gamma, double* dx, double* dgamma, double* dbeta);

}  // namespace vkgrad::ref
