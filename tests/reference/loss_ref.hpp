// CPU references for the losses: plain double loops (tests/loss_test.cpp checks the shaders against
// them; tests/reference/loss_ref_test.cpp checks the gradients against finite differences).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkgrad::ref {

// 0 none, 1 mean, 2 sum (the order of vkgrad::Reduction).
struct CrossEntropyParams {
  int reduction = 1;
  int32_t ignore_index = -100;
  double label_smoothing = 0;
};

// x is (N, C), labels (N). Returns the N row losses (reduction none) or the 1-element mean / sum, as
// torch.nn.functional.cross_entropy: row loss = lse - (1 - eps) x[label] - eps/C Σ_j x[j]; ignored
// rows 0 and excluded from the mean's divisor; a label outside [0, C) gives NaN.
std::vector<double> cross_entropy_forward(const double* x, const int32_t* labels, std::size_t N, std::size_t C,
                                          const CrossEntropyParams& p);

// dx is (N, C), overwritten: the gradient of cross_entropy_forward's result (for none: of the sum of
// row losses) times dloss.
void cross_entropy_backward(const double* x, const int32_t* labels, double* dx, std::size_t N, std::size_t C,
                            const CrossEntropyParams& p, double dloss);

// logp is (N, C), labels (N). Row loss -logp[label]; ignored rows 0 and outside the mean's divisor;
// an out-of-range label gives NaN. Returns N row losses (none) or 1 value (mean / sum).
std::vector<double> nll_forward(const double* logp, const int32_t* labels, std::size_t N, std::size_t C, int reduction,
                                int32_t ignore_index);
// dlogp is (N, C), overwritten: gradient of nll_forward's result (none: of the row sum) times dloss.
void nll_backward(const int32_t* labels, double* dlogp, std::size_t N, std::size_t C, int reduction,
                  int32_t ignore_index, double dloss);

// x, t are (n); d = x - t. kind 0: d^2; kind 1: max(x, 0) - x t + log(1 + e^-|x|); kind 2: |d|;
// kind 3: |d| < beta ? d^2 / (2 beta) : |d| - beta / 2 (beta = 0: |d|), as PyTorch's
// smooth_l1_loss. NaN propagates. Returns n terms (none) or their mean / sum.
std::vector<double> pointwise_loss_forward(const double* x, const double* t, std::size_t n, int kind, int reduction,
                                           double beta = 1.0);
// dx is (n), overwritten: gradient of pointwise_loss_forward's result (none: of the term sum) times dloss.
// kind 2: sign(d), 0 at d = 0 (torch.sign); kind 3: d / beta where |d| < beta, else sign(d). A NaN
// x or t gives NaN.
void pointwise_loss_backward(const double* x, const double* t, double* dx, std::size_t n, int kind, int reduction,
                             double dloss, double beta = 1.0);

}  // namespace vkgrad::ref
