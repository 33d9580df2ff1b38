// Deterministic per-rank test data of the vkgrad::dist tests: every rank can compute every other
// rank's values, and so the expected result of a collective, locally.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace vkgrad::dist::test {

/// Small integers (|v| <= 1000): their sum over a few ranks is exact in f32 in any order.
inline float exact_value(int rank, uint64_t i, uint64_t salt = 0) {
  return static_cast<float>(static_cast<int64_t>((i * 7919 + salt * 31 + static_cast<uint64_t>(rank) * 104729) % 2001) -
                            1000);
}

/// Values of magnitudes 2^-20 to 2^20 and both signs, whose f32 sum depends on the order of the
/// additions (splitmix64 of rank, index and salt).
inline float mixed_value(int rank, uint64_t i, uint64_t salt = 0) {
  uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(rank) * 0xbf58476d1ce4e5b9ull + salt;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double mantissa = static_cast<double>(z & 0xffffff) / double(1 << 24) + 0.5;
  const int exponent = static_cast<int>((z >> 24) % 41) - 20;
  return static_cast<float>(((z >> 40) & 1 ? -1.0 : 1.0) * std::ldexp(mantissa, exponent));
}

/// `count` values of `rank` from `value` (exact_value or mixed_value).
template <class F>
std::vector<float> rank_values(F value, int rank, uint64_t count, uint64_t salt = 0) {
  std::vector<float> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = value(rank, i, salt);
  return out;
}

/// The f32 sum of every rank's values, added in rank order: ((x0 + x1) + x2) + ...
template <class F>
std::vector<float> rank_order_sum(F value, int ranks, uint64_t count, uint64_t salt = 0) {
  std::vector<float> out = rank_values(value, 0, count, salt);
  for (int r = 1; r < ranks; ++r) {
    for (uint64_t i = 0; i < count; ++i) out[i] += value(r, i, salt);
  }
  return out;
}

/// Bit-for-bit equality of two float vectors.
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace vkgrad::dist::test
