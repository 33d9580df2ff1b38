// Host conversions between float and IEEE 754 binary16 (vkgrad::half). shaders/half.glsl computes
// the same bits on the device (tests/half_test.cpp checks both against a double reference).
#include <cstring>

#include "vkgrad/tensor.hpp"

namespace vkgrad {

half to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;                                                 // |value|
  if (a > 0x7f800000u) return half{uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu))};  // NaN, made quiet
  if (a >= 0x477ff000u) return half{uint16_t(sign | 0x7c00u)};  // ≥ 65520 (halfway past 65504) or inf
  if (a >= 0x38800000u) {
    // A normal half: rebias the exponent (127 → 15), then drop 13 mantissa bits, ties to even. A
    // carry out of the mantissa moves to the next binade, which is the right result.
    const uint32_t r = a - 0x38000000u;
    return half{uint16_t(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13))};
  }
  if (a <= 0x33000000u) return half{uint16_t(sign)};  // ≤ 2^-25: 0 (2^-25 itself is a tie, to even 0)
  // A subnormal half (or the smallest normal, by carry): |value| / 2^-24 rounded to an integer,
  // ties to even. |value| = m · 2^(e - 150) with the implicit bit in m, so the quotient is
  // m · 2^(e - 126) and the shift is 126 - e, 14 to 24 here.
  const uint32_t e = a >> 23;
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;
  const uint32_t q = (m + (1u << (shift - 1u)) - 1u + ((m >> shift) & 1u)) >> shift;
  return half{uint16_t(sign | q)};
}

float to_float(half value) {
  const uint32_t h = value.bits;
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  uint32_t x;
  if (e == 0x1fu) {
    x = sign | 0x7f800000u | (m << 13);  // inf, or NaN with its payload
  } else if (e != 0) {
    x = sign | ((e + 112u) << 23) | (m << 13);
  } else if (m == 0) {
    x = sign;
  } else {
    // Subnormal: m · 2^-24, a normal float. Normalize: shift m up until bit 10 is set.
    uint32_t shift = 0;
    uint32_t mm = m;
    while ((mm & 0x400u) == 0) mm <<= 1, ++shift;
    x = sign | ((113u - shift) << 23) | ((mm & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

std::vector<half> to_half(std::span<const float> values) {
  std::vector<half> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = to_half(values[i]);
  return out;
}

std::vector<float> to_float(std::span<const half> values) {
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = to_float(values[i]);
  return out;
}

}  // namespace vkgrad
