#include "reference/half_ref.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vkgrad::ref {

double half_value(uint16_t bits) {
  const int s = bits >> 15, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  const double sign = s ? -1.0 : 1.0;
  if (e == 31)
    return m == 0 ? sign * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(double(m), -24);
  return sign * std::ldexp(1.0 + m / 1024.0, e - 15);
}

double round_to_half(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  if (a >= 65520.0) return std::copysign(std::numeric_limits<double>::infinity(), x);
  if (a == 0) return x;
  int exp2 = 0;
  std::frexp(a, &exp2);                   // a = f · 2^exp2, f in [0.5, 1): the binade is 2^(exp2 - 1)
  const int e = std::max(exp2 - 1, -14);  // subnormals share the quantum of the lowest binade
  const double quantum = std::ldexp(1.0, e - 10);
  return std::copysign(std::nearbyint(a / quantum) * quantum, x);
}

}  // namespace vkgrad::ref
