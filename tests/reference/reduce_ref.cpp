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

namespace {

// op over x[0], x[stride], ..., n elements.
double reduce_strided(const double* x, std::size_t n, std::size_t stride, int op) {
  double acc = op == 2 ? -std::numeric_limits<double>::infinity() : 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i * stride];
    if (op == 2) {
      if (std::isnan(v)) return v;
      if (v > acc) acc = v;
    } else {
      acc += v;
    }
  }
  return op == 1 ? acc / double(n) : acc;
}

}  // namespace

std::vector<double> reduce_rows(const double* x, std::size_t N, std::size_t C, int op) {
  std::vector<double> out(N);
  for (std::size_t n = 0; n < N; ++n) out[n] = reduce_strided(x + n * C, C, 1, op);
  return out;
}

std::vector<double> reduce_columns(const double* x, std::size_t N, std::size_t C, int op) {
  std::vector<double> out(C);
  for (std::size_t c = 0; c < C; ++c) out[c] = reduce_strided(x + c, N, C, op);
  return out;
}

double reduce_all(const double* x, std::size_t n, int op) { return reduce_strided(x, n, 1, op); }

double squared_l2_norm(const double* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

std::vector<int32_t> argmax_rows(const double* x, std::size_t N, std::size_t C) {
  std::vector<int32_t> out(N);
  for (std::size_t n = 0; n < N; ++n) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < C; ++c) {
      const double v = x[n * C + c], b = x[n * C + best];
      if (std::isnan(b)) break;
      if (std::isnan(v) || v > b) best = c;
    }
    out[n] = static_cast<int32_t>(best);
  }
  return out;
}

}  // namespace vkgrad::ref
