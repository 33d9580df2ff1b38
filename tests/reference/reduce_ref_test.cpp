// reduce_ref_test.cpp — checks the softmax references themselves: the backward functions against
// central finite differences of L(x) = Σ dy ⊙ forward(x), and the non-finite-row conventions.
#include "reduce_ref.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace vkgrad::ref;

namespace {

double weighted_output(const std::vector<double>& x, const std::vector<double>& dy, std::size_t N, std::size_t C,
                       bool log) {
  std::vector<double> y(N * C);
  softmax_forward(x.data(), y.data(), N, C, log);
  double l = 0;
  for (std::size_t i = 0; i < N * C; ++i) l += dy[i] * y[i];
  return l;
}

}  // namespace

TEST_CASE("softmax references: backward matches finite differences", "[softmax][reference]") {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(-3, 3);
  for (bool log : {false, true}) {
    for (auto [N, C] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 7}, {2, 10}}) {
      std::vector<double> x(N * C), dy(N * C), y(N * C), dx(N * C);
      for (auto& v : x) v = dist(rng);
      for (auto& v : dy) v = dist(rng);
      softmax_forward(x.data(), y.data(), N, C, log);
      softmax_backward(y.data(), dy.data(), dx.data(), N, C, log);
      for (std::size_t i = 0; i < N * C; ++i) {
        const double h = 1e-5;
        auto xp = x, xm = x;
        xp[i] += h;
        xm[i] -= h;
        const double fd = (weighted_output(xp, dy, N, C, log) - weighted_output(xm, dy, N, C, log)) / (2 * h);
        INFO("log " << log << " N " << N << " C " << C << " i " << i << ": analytic " << dx[i] << " fd " << fd);
        CHECK(std::fabs(dx[i] - fd) <= 1e-8 + 1e-6 * std::fabs(fd));
      }
    }
  }
}

TEST_CASE("softmax references: extreme and non-finite rows", "[softmax][reference]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // rows: ±1e4 (stable), a -inf entry, NaN, +inf, all -inf
  const std::vector<double> x = {1e4, -1e4, 1e4 - 1, 0, -inf, 1, 0, nan, 1, 0, inf, 1, -inf, -inf, -inf};
  std::vector<double> y(15), ly(15);
  softmax_forward(x.data(), y.data(), 5, 3, false);
  softmax_forward(x.data(), ly.data(), 5, 3, true);
  CHECK(y[0] == Approx(1 / (1 + std::exp(-1.0))));
  CHECK(y[1] == 0);
  CHECK(ly[1] == Approx(-2e4 - std::log1p(std::exp(-1.0))));
  CHECK(y[4] == 0);
  CHECK(ly[4] == -inf);
  for (std::size_t i = 6; i < 15; ++i) CHECK(std::isnan(y[i]));
  for (std::size_t i = 6; i < 15; ++i) CHECK(std::isnan(ly[i]));
  (void)nan;
}
