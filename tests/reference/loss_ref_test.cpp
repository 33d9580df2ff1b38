// loss_ref_test.cpp — checks the loss references themselves: cross-entropy's gradient against
// central finite differences of its forward for every reduction, with label smoothing and ignored
// rows, and the PyTorch conventions for ignored and out-of-range labels.
#include "loss_ref.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

using namespace vkgrad::ref;

TEST_CASE("cross-entropy reference: backward matches finite differences", "[loss][softmax][reference]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-3, 3);
  const std::size_t N = 5, C = 7;
  std::vector<double> x(N * C);
  for (auto& v : x) v = dist(rng);
  const std::vector<int32_t> labels = {3, -100, 0, 6, 2};
  for (int reduction : {0, 1, 2}) {
    for (double eps : {0.0, 0.1}) {
      const CrossEntropyParams p{reduction, -100, eps};
      const double dloss = 0.75;
      std::vector<double> dx(N * C);
      cross_entropy_backward(x.data(), labels.data(), dx.data(), N, C, p, dloss);
      auto total = [&](const std::vector<double>& xs) {
        double s = 0;
        for (double v : cross_entropy_forward(xs.data(), labels.data(), N, C, p)) s += v;
        return dloss * s;
      };
      for (std::size_t i = 0; i < N * C; ++i) {
        const double h = 1e-5;
        auto xp = x, xm = x;
        xp[i] += h;
        xm[i] -= h;
        const double fd = (total(xp) - total(xm)) / (2 * h);
        INFO("reduction " << reduction << " eps " << eps << " i " << i << ": analytic " << dx[i] << " fd " << fd);
        CHECK(std::fabs(dx[i] - fd) <= 1e-8 + 1e-6 * std::fabs(fd));
      }
    }
  }
}

TEST_CASE("cross-entropy reference: PyTorch conventions", "[loss][softmax][reference]") {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  // label 2 of row 0: lse - 3 = log(e^1 + e^2 + e^3) - 3
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3;
  const std::vector<int32_t> one_ignored = {2, -100};
  CHECK(cross_entropy_forward(x.data(), one_ignored.data(), 2, 3, {1, -100, 0})[0] == Approx(row0));  // ÷ 1 row
  CHECK(cross_entropy_forward(x.data(), one_ignored.data(), 2, 3, {2, -100, 0})[0] == Approx(row0));
  const std::vector<int32_t> all_ignored = {-100, -100};
  CHECK(std::isnan(cross_entropy_forward(x.data(), all_ignored.data(), 2, 3, {1, -100, 0})[0]));
  const std::vector<int32_t> bad = {3, 0};
  CHECK(std::isnan(cross_entropy_forward(x.data(), bad.data(), 2, 3, {0, -100, 0})[0]));
  // smoothing 0.3: 0.7 (lse - x_y) + 0.3 (lse - mean x)
  const std::vector<int32_t> label0 = {0};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK(cross_entropy_forward(x.data(), label0.data(), 1, 3, {0, -100, 0.3})[0] ==
        Approx(0.7 * (lse - 1) + 0.3 * (lse - 2)));
}

TEST_CASE("nll and pointwise loss references: backward matches finite differences", "[loss][reference]") {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> dist(-3, 3);
  const std::size_t N = 5, C = 4, n = N * C;
  std::vector<double> x(n), t(n);
  for (auto& v : x) v = dist(rng);
  for (auto& v : t) v = (dist(rng) + 3) / 6;  // targets in [0, 1] (BCE)
  const std::vector<int32_t> labels = {3, -100, 0, 1, 2};
  const double dloss = 1.5, h = 1e-5;
  for (int reduction : {0, 1, 2}) {
    std::vector<double> dnll(n);
    nll_backward(labels.data(), dnll.data(), N, C, reduction, -100, dloss);
    // (kind, beta): mse, bce, l1, smooth_l1 with PyTorch's beta 1, a smaller one and 0 (= l1).
    const std::pair<int, double> kinds[] = {{0, 1.0}, {1, 1.0}, {2, 1.0}, {3, 1.0}, {3, 0.25}, {3, 0.0}};
    for (const auto& entry : kinds) {
      // Named variables, not a structured binding: pointwise_total captures them (clang before 16
      // cannot capture structured bindings).
      const int kind = entry.first;
      const double beta = entry.second;
      std::vector<double> dx(n);
      pointwise_loss_backward(x.data(), t.data(), dx.data(), n, kind, reduction, dloss, beta);
      auto nll_total = [&](const std::vector<double>& xs) {
        double s = 0;
        for (double v : nll_forward(xs.data(), labels.data(), N, C, reduction, -100)) s += v;
        return dloss * s;
      };
      auto pointwise_total = [&](const std::vector<double>& xs) {
        double s = 0;
        for (double v : pointwise_loss_forward(xs.data(), t.data(), n, kind, reduction, beta)) s += v;
        return dloss * s;
      };
      for (std::size_t i = 0; i < n; ++i) {
        auto xp = x, xm = x;
        xp[i] += h;
        xm[i] -= h;
        const double fd = (pointwise_total(xp) - pointwise_total(xm)) / (2 * h);
        INFO("kind " << kind << " beta " << beta << " reduction " << reduction << " i " << i << ": " << dx[i]
                     << " vs fd " << fd);
        CHECK(std::fabs(dx[i] - fd) <= 1e-8 + 1e-6 * std::fabs(fd));
        const double fd_nll = (nll_total(xp) - nll_total(xm)) / (2 * h);
        INFO("nll: " << dnll[i] << " vs fd " << fd_nll);
        CHECK(std::fabs(dnll[i] - fd_nll) <= 1e-8 + 1e-6 * std::fabs(fd_nll));
      }
    }
  }
}

TEST_CASE("l1 and smooth_l1 references: PyTorch's values and gradients at the kinks", "[loss][reference]") {
  // Values printed by torch.nn.functional.l1_loss / smooth_l1_loss (reduction='none') and the
  // gradients of their sums, for x - t = 0, 1, -1, 0.25 and NaN (tests/reference/pointwise_loss_torch.py
  // prints them).
  const std::vector<double> x = {0, 1, -1, 0.25, std::nan("")}, t(5, 0.0);
  const auto l1 = pointwise_loss_forward(x.data(), t.data(), 5, 2, 0);
  CHECK(l1[0] == 0);
  CHECK(l1[1] == 1);
  CHECK(l1[2] == 1);
  CHECK(std::isnan(l1[4]));
  std::vector<double> dx(5);
  pointwise_loss_backward(x.data(), t.data(), dx.data(), 5, 2, 0, 1.0);
  CHECK(dx[0] == 0);  // torch.sign(0) = 0
  CHECK(dx[1] == 1);
  CHECK(dx[2] == -1);
  CHECK(std::isnan(dx[4]));  // NaN propagates (PyTorch's CPU kernel gives 0 here)
  const auto smooth = pointwise_loss_forward(x.data(), t.data(), 5, 3, 0, 0.5);
  CHECK(smooth[1] == 0.75);    // |d| - beta / 2
  CHECK(smooth[3] == 0.0625);  // d^2 / (2 beta)
  CHECK(std::isnan(smooth[4]));
  pointwise_loss_backward(x.data(), t.data(), dx.data(), 5, 3, 0, 1.0, 0.5);
  CHECK(dx[0] == 0);
  CHECK(dx[1] == 1);
  CHECK(dx[3] == 0.5);  // d / beta
  const auto beta0 = pointwise_loss_forward(x.data(), t.data(), 5, 3, 0, 0.0);
  for (std::size_t i = 0; i < 4; ++i) CHECK(beta0[i] == l1[i]);  // beta = 0 is L1
}
