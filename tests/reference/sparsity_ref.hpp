// sparsity_ref.hpp — CPU reference of ActivationSparsity (include/vkgrad/sparsity.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkgrad::ref {

struct SparsityCounts {
  uint64_t zeros = 0;         // y == 0 (−0 included, NaN excluded)
  uint64_t near_zero = 0;     // |y| <= eps (NaN excluded)
  std::vector<uint8_t> dead;  // per feature: 1 if y[r, c] == 0 for every row r
};

// y is (rows, features) row-major.
SparsityCounts activation_sparsity(const std::vector<float>& y, size_t rows, size_t features, float eps);

}  // namespace vkgrad::ref
