#include "reference/init_ref.hpp"

namespace vkgrad::ref {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c[0];
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  return c;
}

double init_uniform_sample(uint64_t seed, uint32_t i, double a, double b) {
  const auto bits = philox4x32_10({i, 0, 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)});
  return a + (b - a) * (double(bits[0] >> 8) / 16777216.0);
}

}  // namespace vkgrad::ref
