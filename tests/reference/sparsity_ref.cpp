#include "reference/sparsity_ref.hpp"

#include <cmath>

namespace vkgrad::ref {

SparsityCounts activation_sparsity(const std::vector<float>& y, size_t rows, size_t features, float eps) {
  SparsityCounts s;
  s.dead.assign(features, 1);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < features; ++c) {
      const double v = y[r * features + c];
      if (v == 0)
        ++s.zeros;
      else
        s.dead[c] = 0;
      if (std::fabs(v) <= eps) ++s.near_zero;
    }
  }
  return s;
}

}  // namespace vkgrad::ref
