// half_ref.hpp — double-precision reference of IEEE 754 binary16 (vkgrad::half, vkgrad::cast):
// values computed from the format's definition with plain arithmetic, independent of the bit
// manipulation in lib/half.cpp and shaders/half.glsl.
#pragma once

#include <cstdint>

namespace vkgrad::ref {

// The value of the binary16 with these bits: (-1)^s · 2^(e-15) · (1 + m/1024) for normal ones,
// (-1)^s · m · 2^-24 for subnormal ones, ±inf, NaN.
double half_value(uint16_t bits);

// x rounded to the nearest binary16 value, ties to even (the quantum of x's binade, or 2^-24 below
// 2^-14, scaled to an integer and rounded by nearbyint in the default rounding mode); ±inf from
// 65520 on (where IEEE 754's round to nearest overflows); NaN for NaN. Zero results keep x's sign.
double round_to_half(double x);

}  // namespace vkgrad::ref
