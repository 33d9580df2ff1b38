#include "dropout_ref.hpp"

namespace vkgrad::ref {

std::vector<uint8_t> dropout_mask(size_t n, uint64_t seed, uint32_t step, uint32_t drop_threshold, size_t offset) {
  std::vector<uint8_t> keep(n);
  const std::array<uint32_t, 2> key = {uint32_t(seed), uint32_t(seed >> 32)};
  for (size_t i = 0; i < n; ++i) {
    const size_t g = offset + i;
    const auto bits = philox4x32_10({uint32_t(g / 4), 0, step, 0}, key);
    keep[i] = (bits[g % 4] >> 8) >= drop_threshold;
  }
  return keep;
}

void dropout_forward(const float* x, const uint8_t* keep, size_t n, double p, double* y) {
  const double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  for (size_t i = 0; i < n; ++i) y[i] = double(x[i]) * (keep[i] ? scale : 0.0);
}

}  // namespace vkgrad::ref
