// L1 / L2 weight penalties and the L1 activity penalty, added to a gradient, against the reference.
#include <catch2/catch.hpp>
#include <cmath>

#include "harness.hpp"
#include "reference/optim_ref.hpp"
#include "vkgrad/optim.hpp"

namespace vkgrad::test {
namespace {

enum Kind { l1 = 0, l2 = 1, l1_activity = 2 };

void check_penalty(Kind kind, std::size_t n, float lambda, uint64_t seed) {
  Context& ctx = context();
  auto w = uniform(n, -3.0f, 3.0f, seed);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {
      0.0f, -0.0f, 1e4f, -1e4f, inf, -inf, 1e-40f, -1e-40f, std::numeric_limits<float>::quiet_NaN()};
  for (std::size_t i = 0; i < std::size(specials) && i * 7 + 3 < n; ++i) w[i * 7 + 3] = specials[i];
  const auto g = uniform(n, -1.0f, 1.0f, seed + 1);
  Tensor tw = Tensor::from(ctx, {n}, w), tg = Tensor::from(ctx, {n}, g);
  CommandList cmd(ctx);
  if (kind == l1) l1_penalty_accumulate(cmd, tw, tg, lambda);
  if (kind == l2) l2_penalty_accumulate(cmd, tw, tg, lambda);
  if (kind == l1_activity) l1_activity_penalty_accumulate(cmd, tw, tg, lambda);
  cmd.run();
  require_no_validation_messages();
  std::vector<double> expected(g.begin(), g.end());
  ref::penalty_accumulate(kind == l2 ? 1 : 0, {w.begin(), w.end()}, expected, lambda);
  // One product and one sum in float32: the library default 1e-6 + 1e-5·|ref| (the rounding of
  // the sum is relative to |g| + |lambda·term| <= a few times |ref| away from cancellation, and
  // |g|, |lambda·term| <= ~3 bounds the absolute error near cancellation to ~4e-7).
  const auto m = compare(tg.to_vector(), expected, 1e-5, 1e-6);
  INFO("kind " << kind << ", n " << n << ", lambda " << lambda << ": " << m.count << " mismatches, worst ["
               << m.worst_index << "] got " << m.got << " expected " << m.expected);
  CHECK(m.count == 0);
}

}  // namespace

TEST_CASE("penalty gradient references match finite differences of the penalties", "[optim][penalty][reference]") {
  // L1: lambda·Σ|w|, L2: (lambda/2)·Σw². Central differences with h = 1e-6 are exact up to
  // rounding (~1e-10) for L2 and for L1 away from the kink (|w| > h, true for these draws).
  const auto w = uniform(64, -2.0f, 2.0f, 77);
  const double lambda = 0.3, h = 1e-6;
  for (int kind = 0; kind < 2; ++kind) {
    auto penalty = [&](double v) { return kind == 0 ? lambda * std::fabs(v) : lambda / 2 * v * v; };
    std::vector<double> grad(w.size(), 0.0);
    ref::penalty_accumulate(kind, {w.begin(), w.end()}, grad, lambda);
    for (std::size_t i = 0; i < w.size(); ++i) {
      REQUIRE(std::fabs(w[i]) > 1e-3);
      const double fd = (penalty(w[i] + h) - penalty(w[i] - h)) / (2 * h);
      INFO("kind " << kind << ", w " << w[i]);
      CHECK(grad[i] == Approx(fd).epsilon(1e-7).margin(1e-8));
    }
  }
}

TEST_CASE("weight and activity penalties add the reference gradient", "[optim][penalty]") {
  uint64_t seed = 1;
  for (std::size_t n :
       {std::size_t(1), std::size_t(7), std::size_t(255), std::size_t(257), std::size_t((1u << 20) + 3)}) {
    for (Kind kind : {l1, l2, l1_activity}) {
      check_penalty(kind, n, 1e-3f, seed++);
      if (n == 257) check_penalty(kind, n, 0.5f, seed++);
    }
  }
}

TEST_CASE("the L1 penalty treats signed zeros as zero and propagates NaN", "[optim][penalty]") {
  Context& ctx = context();
  const std::vector<float> w{0.0f, -0.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f, -2.0f};
  Tensor tw = Tensor::from(ctx, {5}, w), tg = Tensor::from(ctx, {5}, std::vector<float>(5, 1.0f));
  CommandList cmd(ctx);
  l1_penalty_accumulate(cmd, tw, tg, 0.25f);
  cmd.run();
  require_no_validation_messages();
  const auto got = tg.to_vector();
  CHECK(got[0] == 1.0f);
  CHECK(got[1] == 1.0f);
  CHECK(std::isnan(got[2]));
  CHECK(got[3] == 1.25f);
  CHECK(got[4] == 0.75f);
  Tensor short_grad(ctx, {4});
  CHECK_THROWS_WITH(l2_penalty_accumulate(cmd, tw, short_grad, 1.0f), Catch::Contains("[5]") && Catch::Contains("[4]"));
}

}  // namespace vkgrad::test
