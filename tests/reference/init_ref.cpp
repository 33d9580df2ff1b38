#include "reference/init_ref.hpp"

namespace vkgrad::ref {

double init_uniform_sample(uint64_t seed, uint32_t i, double a, double b) {
  const auto bits = philox4x32_10({i, 0, 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)});
  return a + (b - a) * (double(bits[0] >> 8) / 16777216.0);
}

}  // namespace vkgrad::ref
