// Host mask computation of the pruners; see nn_prune_masks.hpp.
#include "nn_prune_masks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "nn_state.hpp"

namespace vkgrad::nn::prune_masks {

namespace {

// The k items first in the strict total order `before` (ties must be broken inside it), in no
// particular order: nth_element is linear, and a total order makes the set exact.
template <class Before>
std::vector<uint64_t> first_in_order(uint64_t n, uint64_t k, Before before) {
  std::vector<uint64_t> items(n);
  std::iota(items.begin(), items.end(), uint64_t{0});
  if (k < n) std::nth_element(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(k), items.end(), before);
  items.resize(std::min(k, n));
  return items;
}

// Orders by (already pruned first when monotone, then `key_below`, then position `a` < `b`).
template <class KeyBelow>
bool prune_before(bool pruned_a, bool pruned_b, bool monotone, KeyBelow key_below, uint64_t a, uint64_t b) {
  if (monotone && pruned_a != pruned_b) return pruned_a;
  if (key_below(a, b)) return true;
  if (key_below(b, a)) return false;
  return a < b;
}

uint64_t count_zeros(std::span<const float> mask) {
  return static_cast<uint64_t>(std::count(mask.begin(), mask.end(), 0.0f));
}

}  // namespace

uint64_t count_to_prune(double amount, uint64_t n, std::string_view where) {
  if (!(amount >= 0.0 && amount <= 1.0)) {
    state::fail(where, "amount (sparsity) must be in [0, 1], got " + state::fmt(amount));
  }
  const double x = amount * static_cast<double>(n);
  const double down = std::floor(x);
  const double frac = x - down;
  uint64_t k = static_cast<uint64_t>(down);
  // Half to even, as Python's round(): round(2.5) = 2, round(3.5) = 4.
  if (frac > 0.5 || (frac == 0.5 && k % 2 == 1)) ++k;
  return std::min(k, n);
}

bool magnitude_below(float a, float b) {
  const float x = std::fabs(a), y = std::fabs(b);
  if (std::isnan(x)) return false;
  if (std::isnan(y)) return true;
  return x < y;
}

void magnitude_masks(std::vector<LayerWeights>& layers, uint64_t k, bool monotone) {
  // One pool: position p = the layer's offset + its flat index, so p orders by (layer, index).
  std::vector<uint64_t> offset(layers.size() + 1, 0);
  for (std::size_t l = 0; l < layers.size(); ++l) offset[l + 1] = offset[l] + layers[l].weight.size();
  std::vector<const float*> weight(offset.back()), mask(offset.back());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    for (uint64_t i = 0; i < layers[l].weight.size(); ++i) {
      weight[offset[l] + i] = &layers[l].weight[i];
      mask[offset[l] + i] = &layers[l].mask[i];
    }
  }
  uint64_t already = 0;
  for (auto& layer : layers) already += count_zeros(layer.mask);
  if (monotone) k = std::max(k, already);
  const auto below = [&](uint64_t a, uint64_t b) { return magnitude_below(*weight[a], *weight[b]); };
  const auto pruned = first_in_order(offset.back(), k, [&](uint64_t a, uint64_t b) {
    return prune_before(*mask[a] == 0.0f, *mask[b] == 0.0f, monotone, below, a, b);
  });
  for (auto& layer : layers) std::fill(layer.mask.begin(), layer.mask.end(), 1.0f);
  for (uint64_t p : pruned) {
    const auto l = static_cast<std::size_t>(std::upper_bound(offset.begin(), offset.end(), p) - offset.begin() - 1);
    layers[l].mask[p - offset[l]] = 0.0f;
  }
}

void random_mask(LayerWeights& layer, uint64_t k, uint64_t seed, bool monotone) {
  const uint64_t n = layer.mask.size();
  if (monotone) k = std::max(k, count_zeros(layer.mask));
  const auto below = [&](uint64_t a, uint64_t b) { return state::mix_seed(seed, a) < state::mix_seed(seed, b); };
  const auto pruned = first_in_order(n, k, [&](uint64_t a, uint64_t b) {
    return prune_before(layer.mask[a] == 0.0f, layer.mask[b] == 0.0f, monotone, below, a, b);
  });
  std::fill(layer.mask.begin(), layer.mask.end(), 1.0f);
  for (uint64_t p : pruned) layer.mask[p] = 0.0f;
}

void n_m_mask(LayerWeights& layer, uint32_t n, uint32_t m, bool monotone) {
  const auto below = [&](uint64_t a, uint64_t b) { return magnitude_below(layer.weight[a], layer.weight[b]); };
  const auto before = [&](uint64_t a, uint64_t b) {
    return prune_before(layer.mask[a] == 0.0f, layer.mask[b] == 0.0f, monotone, below, a, b);
  };
  std::vector<uint64_t> group;
  for (uint64_t r = 0; r < layer.rows; ++r) {
    for (uint64_t c0 = 0; c0 < layer.columns; c0 += m) {
      const uint64_t g = std::min<uint64_t>(m, layer.columns - c0);
      group.resize(g);
      std::iota(group.begin(), group.end(), r * layer.columns + c0);
      uint64_t prune = g - std::min<uint64_t>(n, g);
      if (monotone) {
        uint64_t already = 0;
        for (uint64_t i : group) already += layer.mask[i] == 0.0f;
        prune = std::max(prune, already);
      }
      std::sort(group.begin(), group.end(), before);
      for (uint64_t j = 0; j < g; ++j) layer.mask[group[j]] = j < prune ? 0.0f : 1.0f;
    }
  }
}

void row_mask(LayerWeights& layer, uint64_t k, bool monotone) {
  const uint64_t cols = layer.columns;
  std::vector<double> norm(layer.rows);  // NaN when the row holds NaN
  std::vector<bool> row_pruned(layer.rows);
  for (uint64_t r = 0; r < layer.rows; ++r) {
    double sum = 0;
    bool all_pruned = true;
    for (uint64_t c = 0; c < cols; ++c) {
      const double w = layer.mask[r * cols + c] == 0.0f ? 0.0 : double(layer.weight[r * cols + c]);
      sum += w * w;  // no overflow: |w| <= FLT_MAX, so w² <= 1.2e77
      all_pruned = all_pruned && layer.mask[r * cols + c] == 0.0f;
    }
    norm[r] = std::sqrt(sum);
    row_pruned[r] = all_pruned;
  }
  if (monotone) k = std::max<uint64_t>(k, std::count(row_pruned.begin(), row_pruned.end(), true));
  const auto below = [&](uint64_t a, uint64_t b) {
    if (std::isnan(norm[a])) return false;
    if (std::isnan(norm[b])) return true;
    return norm[a] < norm[b];
  };
  const auto rows = first_in_order(layer.rows, k, [&](uint64_t a, uint64_t b) {
    return prune_before(row_pruned[a], row_pruned[b], monotone, below, a, b);
  });
  // Monotone: the weights pruned before in the rows that stay keep their zeros.
  if (!monotone) std::fill(layer.mask.begin(), layer.mask.end(), 1.0f);
  for (uint64_t r : rows) std::fill_n(layer.mask.begin() + static_cast<std::ptrdiff_t>(r * cols), cols, 0.0f);
}

}  // namespace vkgrad::nn::prune_masks
