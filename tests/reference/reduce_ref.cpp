#include "reduce_ref.hpp"

#include <cmath>
#include <limits>

namespace vkgrad::ref {

void softmax_forward(const double* x, double* y, std::size_t N, std::size_t C, bool log) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t n = 0; n < N; ++n) {
    const double* xr = x + n * C;
    double* yr = y + n * C;
    double m = -std::numeric_limits<double>::infinity();
    bool has_nan = false;
    for (std::size_t c = 0; c < C; ++c) {
      has_nan |= std::isnan(xr[c]);
      if (xr[c] > m) m = xr[c];
    }
    if (has_nan || std::isinf(m)) {
      for (std::size_t c = 0; c < C; ++c) yr[c] = nan;
      continue;
    }
    double s = 0;
    for (std::size_t c = 0; c < C; ++c) s += std::exp(xr[c] - m);
    for (std::size_t c = 0; c < C; ++c) yr[c] = log ? (xr[c] - m) - std::log(s) : std::exp(xr[c] - m) / s;
  }
}

void softmax_backward(const double* y, const double* dy, double* dx, std::size_t N, std::size_t C, bool log) {
  for (std::size_t n = 0; n < N; ++n) {
    const double* yr = y + n * C;
    const double* dyr = dy + n * C;
    double s = 0;
    for (std::size_t c = 0; c < C; ++c) s += log ? dyr[c] : dyr[c] * yr[c];
    for (std::size_t c = 0; c < C; ++c) dx[n * C + c] = log ? dyr[c] - std::exp(yr[c]) * s : yr[c] * (dyr[c] - s);
  }
}

}  // namespace vkgrad::ref
