// batchnorm_sync_ref.hpp — double-precision CPU reference of the split batch-norm ops of
// include/vkgrad/batchnorm.hpp (batchnorm_statistics, batchnorm_combine_statistics,
// batchnorm_backward_sums, batchnorm_backward_apply). Plain loops; x is (N, C) row-major.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vkgrad::ref {

// Per channel over the N >= 1 rows: mean = Σx / N, m2 = Σ(x − mean)² (two passes). mean, m2: (C).
void batchnorm_statistics(const double* x, size_t N, size_t C, double* mean, double* m2);

// Combines R replicas' statistics (means, m2s: R × C, replica-major; counts: R) with the plain
// formula mean = Σ n_r·mean_r / n, m2 = Σ (m2_r + n_r·(mean_r − mean)²), n = Σ n_r >= 2. Outputs
// (C each): mean, invstd = 1 / sqrt(m2 / n + eps), var_unbiased = m2 / (n − 1).
void batchnorm_combine_statistics(const double* means, const double* m2s, const uint64_t* counts, size_t R, size_t C,
                                  double eps, double* mean, double* invstd, double* var_unbiased);

// Per channel: sum_dy = Σdy, sum_dyx = Σ dy·(x − mean)·invstd over the N rows. (C each).
void batchnorm_backward_sums(const double* x, const double* dy, size_t N, size_t C, const double* mean,
                             const double* invstd, double* sum_dy, double* sum_dyx);

// dx = gamma · invstd · (dy − sum_dy / count − xhat · sum_dyx / count), xhat = (x − mean)·invstd,
// from sums over `count` rows in all. gamma may be null (1). x, dy, dx: (N, C).
void batchnorm_backward_apply(const double* x, const double* dy, size_t N, size_t C, const double* mean,
                              const double* invstd, const double* gamma, const double* sum_dy, const double* sum_dyx,
                              double count, double* dx);

}  // namespace vkgrad::ref
