// Host mask computation of the pruners (include/vkgrad/nn/prune.hpp): pure functions of weights
// and current masks, no device. Masks are f32 row-major as the weight, exactly 1 (kept) or 0
// (pruned). Shared by lib/nn_prune.cpp and the tests.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vkgrad::nn::prune_masks {

/// One layer's weight (out × in, row-major) and its current mask (all ones when it has none).
struct LayerWeights {
  std::vector<float> weight;
  std::vector<float> mask;
  uint64_t rows = 0, columns = 0;
};

/// round(amount · n), round half to even (Python's round, as PyTorch's _compute_nparams_toprune);
/// InvalidArgument from `where` unless amount is in [0, 1].
uint64_t count_to_prune(double amount, uint64_t n, std::string_view where);

/// Whether magnitude a ranks below b: |w| ascending, NaN above +inf (as torch.topk ranks it).
bool magnitude_below(float a, float b);

/// Rewrites the masks of `layers` so that the k weights first in the order (already pruned first
/// when monotone, |w|, layer, index) are pruned; with monotone masks at least every weight already
/// pruned is (max(k, already pruned)).
void magnitude_masks(std::vector<LayerWeights>& layers, uint64_t k, bool monotone);

/// As magnitude_masks for one layer with the order (already pruned first when monotone, key of
/// mix_seed(seed, index), index).
void random_mask(LayerWeights& layer, uint64_t k, uint64_t seed, bool monotone);

/// N:M along each row: in every group of m consecutive columns (the last one possibly partial, of
/// g < m columns) keeps the min(n, g) weights last in the order (already pruned first when
/// monotone, |w|, index) and prunes the others.
void n_m_mask(LayerWeights& layer, uint32_t n, uint32_t m, bool monotone);

/// Whole rows: prunes the k rows first in the order (rows already wholly pruned first when
/// monotone, L2 norm of the masked row in double with NaN above every norm, row index); with
/// monotone masks at least every row already wholly pruned, and the other rows keep their zeros.
void row_mask(LayerWeights& layer, uint64_t k, bool monotone);

}  // namespace vkgrad::nn::prune_masks
