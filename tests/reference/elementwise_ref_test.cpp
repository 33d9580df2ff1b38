// elementwise_ref_test.cpp — checks the elementwise references themselves: the binary backward
// (same shape and broadcast either way) and clamp's gradient against central finite differences of
// L = Σ dout ⊙ forward, and the conventions at the edges (x / 0, clamp's bounds, NaN).
#include "elementwise_ref.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace vkgrad::ref;

namespace {

double weighted_binary(int op, const std::vector<double>& a, const std::vector<double>& b,
                       const std::vector<double>& dout, const BinaryShape& s) {
  const auto out = binary_forward(op, a, b, s);
  double l = 0;
  for (std::size_t i = 0; i < out.size(); ++i) l += dout[i] * out[i];
  return l;
}

// Central difference of weighted_binary along element i of a (which == 0) or b.
double finite_difference(int op, std::vector<double> a, std::vector<double> b, const std::vector<double>& dout,
                         const BinaryShape& s, int which, std::size_t i) {
  const double h = 1e-6;
  std::vector<double>& v = which == 0 ? a : b;
  const double saved = v[i];
  v[i] = saved + h;
  const double up = weighted_binary(op, a, b, dout, s);
  v[i] = saved - h;
  const double down = weighted_binary(op, a, b, dout, s);
  return (up - down) / (2 * h);
}

}  // namespace

TEST_CASE("elementwise references: binary backward matches finite differences", "[elementwise][reference]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-3, 3), magnitude(0.5, 3);
  for (int op = 0; op < 4; ++op) {
    for (const BinaryShape s : {BinaryShape{1, 1, 0}, BinaryShape{3, 5, 0}, BinaryShape{4, 3, 1}, BinaryShape{2, 7, 2},
                                BinaryShape{1, 4, 1}}) {
      std::vector<double> a(s.a_size()), b(s.b_size()), dout(s.rows * s.cols), da, db;
      for (auto& v : a) v = dist(rng);
      // Divisors kept away from 0, where the quotient's curvature spoils the difference quotient.
      for (auto& v : b) v = op == 3 ? (rng() % 2 ? 1 : -1) * magnitude(rng) : dist(rng);
      for (auto& v : dout) v = dist(rng);
      binary_backward(op, a, b, dout, s, da, db);
      for (int which = 0; which < 2; ++which) {
        const auto& grad = which == 0 ? da : db;
        for (std::size_t i = 0; i < grad.size(); ++i) {
          const double fd = finite_difference(op, a, b, dout, s, which, i);
          INFO("op " << op << " (" << s.rows << ", " << s.cols << ") broadcast " << s.broadcast << " d"
                     << (which == 0 ? "a" : "b") << "[" << i << "]: analytic " << grad[i] << " fd " << fd);
          CHECK(std::fabs(grad[i] - fd) <= 1e-7 + 1e-6 * std::fabs(fd));
        }
      }
    }
  }
}

TEST_CASE("elementwise references: clamp gradient and conventions", "[elementwise][reference]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const double lo = -1.5, hi = 2.0, h = 1e-6;
  // Away from the bounds the gradient is the derivative of clamp.
  for (double x : {-3.0, -1.4, 0.0, 1.9, 5.0}) {
    const double fd = (clamp(x + h, lo, hi) - clamp(x - h, lo, hi)) / (2 * h);
    INFO("x " << x << ": analytic " << clamp_grad(x, 1, lo, hi) << " fd " << fd);
    CHECK(std::fabs(clamp_grad(x, 1, lo, hi) - fd) <= 1e-9);
  }
  // PyTorch's clamp_backward passes the gradient at both bounds (min <= x <= max) and blocks it for
  // NaN; min > max clamps everything to max with a zero gradient; a NaN bound gives NaN.
  CHECK(clamp_grad(lo, 3, lo, hi) == 3);
  CHECK(clamp_grad(hi, 3, lo, hi) == 3);
  CHECK(clamp_grad(nan, 3, lo, hi) == 0);
  CHECK(clamp(-5, 2, 1) == 1);
  CHECK(clamp(5, 2, 1) == 1);
  CHECK(clamp_grad(1.5, 3, 2, 1) == 0);
  CHECK(std::isnan(clamp(nan, lo, hi)));
  CHECK(std::isnan(clamp(0, lo, nan)));
  CHECK(clamp(inf, lo, hi) == hi);
  // Division as IEEE (and torch.div): x / ±0 = ±inf, 0 / 0 = NaN.
  CHECK(binary_op(3, 1, 0) == inf);
  CHECK(binary_op(3, 1, -0.0) == -inf);
  CHECK(std::isnan(binary_op(3, 0, 0)));
}

TEST_CASE("elementwise references: split inverts concat, transpose twice is the identity", "[elementwise][reference]") {
  const std::vector<std::size_t> widths{3, 1, 4};
  const std::size_t rows = 5;
  std::vector<std::vector<double>> parts(widths.size());
  double v = 0;
  for (std::size_t p = 0; p < widths.size(); ++p) {
    for (std::size_t i = 0; i < rows * widths[p]; ++i) parts[p].push_back(v++);
  }
  const auto y = concat_columns(parts, widths, rows);
  CHECK(y[8] == parts[0][3]);  // row 1, column 0
  CHECK(split_columns(y, widths, rows) == parts);
  CHECK(transpose(transpose(y, rows, 8), 8, rows) == y);
  CHECK(transpose(y, rows, 8)[1] == y[8]);  // yᵀ[0, 1] = y[1, 0]
}
