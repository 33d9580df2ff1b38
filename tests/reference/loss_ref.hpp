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

}  // namespace vkgrad::ref
