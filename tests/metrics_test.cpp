// accumulate_metrics and accumulate_value_metrics: loss · N, correct predictions (or squared and
// absolute errors, element accuracy) and rows summed on the device over many batches, against plain
// double-precision references.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "harness.hpp"

namespace vkgrad::test {

TEST_CASE("accumulate_metrics sums batch loss, correct predictions and rows over replays", "[metrics]") {
  Context& ctx = context();
  std::mt19937 rng(5);
  for (uint32_t batch : {1u, 7u, 128u, 257u, 4099u}) {
    CAPTURE(batch);
    Tensor loss(ctx, {1}), pred(ctx, {batch}, DType::i32), labels(ctx, {batch}, DType::i32), totals(ctx, {4});
    totals.fill(0.0f);
    CommandList cmd(ctx);
    accumulate_metrics(cmd, loss, pred, labels, totals);
    double loss_sum = 0, correct = 0, rows = 0;
    for (int replay = 0; replay < 5; ++replay) {
      std::vector<int32_t> p(batch), l(batch);
      for (uint32_t r = 0; r < batch; ++r) {
        p[r] = int32_t(rng() % 10);
        l[r] = rng() % 3 == 0 ? p[r] : int32_t(rng() % 10);
        correct += p[r] == l[r];
      }
      const float mean_loss = 0.1f + 2.0f * float(rng() % 1000) / 1000.0f;
      pred.upload<int32_t>(p);
      labels.upload<int32_t>(l);
      loss.upload(std::vector<float>{mean_loss});
      loss_sum += double(mean_loss) * batch;
      rows += batch;
      cmd.run();
      require_no_validation_messages();
    }
    const auto t = totals.to_vector();
    // Five f32 additions with Kahan compensation: within a few ulp of the double sum.
    CHECK(close(t[0], loss_sum, 1e-6, 0));
    CHECK(t[1] == correct);
    CHECK(t[2] == rows);
  }
}

TEST_CASE("accumulate_metrics refuses wrong shapes and dtypes", "[metrics]") {
  Context& ctx = context();
  Tensor loss(ctx, {1}), loss2(ctx, {2}), pred(ctx, {8}, DType::i32), labels(ctx, {9}, DType::i32),
      labels8(ctx, {8}, DType::i32), totals(ctx, {4}), totals3(ctx, {3}), fpred(ctx, {8});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(accumulate_metrics(cmd, loss, pred, labels, totals),
                    Catch::Contains("[8]") && Catch::Contains("[9]"));
  CHECK_THROWS_WITH(accumulate_metrics(cmd, loss2, pred, labels8, totals), Catch::Contains("'loss'"));
  CHECK_THROWS_WITH(accumulate_metrics(cmd, loss, pred, labels8, totals3), Catch::Contains("'totals'"));
  CHECK_THROWS_WITH(accumulate_metrics(cmd, loss, fpred, labels8, totals), Catch::Contains("predictions"));
}

TEST_CASE("accumulate_metrics adds a summed loss as it is", "[metrics]") {
  Context& ctx = context();
  Tensor loss = Tensor::from<float>(ctx, {1}, std::vector<float>{2.5f}), pred(ctx, {7}, DType::i32),
         labels(ctx, {7}, DType::i32), totals(ctx, {4});
  pred.fill(1.0f);
  labels.fill(1.0f);
  totals.fill(0.0f);
  CommandList cmd(ctx);
  accumulate_metrics(cmd, loss, pred, labels, totals, /*loss_is_sum=*/true);
  cmd.run();
  cmd.run();
  require_no_validation_messages();
  CHECK(totals.to_vector() == std::vector<float>{5.0f, 14.0f, 14.0f, 0.0f});
}

namespace {

// The double reference of accumulate_value_metrics over one batch: adds to totals (8 doubles; the
// compensation slots stay 0).
void value_metrics_ref(double loss, const std::vector<float>& y, const std::vector<float>& t, uint64_t rows,
                       bool loss_is_sum, std::vector<double>& totals) {
  totals[0] += loss * (loss_is_sum ? 1.0 : double(rows));
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double d = double(y[i]) - double(t[i]);
    totals[1] += (y[i] > 0.0f) == (t[i] > 0.5f) ? 1 : 0;
    totals[4] += d * d;
    totals[6] += std::fabs(d);
  }
  totals[2] += double(rows);
}

// Runs accumulate_value_metrics over `replays` batches of (rows, width) and compares with the
// reference; `edit` may change each batch's values (extremes).
void check_value_metrics(uint64_t rows, uint64_t width, bool loss_is_sum, uint64_t seed,
                         const std::function<void(std::vector<float>&, std::vector<float>&)>& edit = {}) {
  Context& ctx = context();
  CAPTURE(rows, width, loss_is_sum);
  const uint64_t n = rows * width;
  Tensor loss(ctx, {1}), y(ctx, {rows, width}), t(ctx, {rows, width}), totals(ctx, {8});
  totals.fill(0.0f);
  CommandList cmd(ctx);
  accumulate_value_metrics(cmd, loss, y, t, totals, loss_is_sum);
  std::vector<double> expected(8, 0.0);
  for (int replay = 0; replay < 3; ++replay) {
    auto yv = uniform(n, -3.0f, 3.0f, seed + replay), tv = uniform(n, -1.0f, 2.0f, seed + 10 + replay);
    if (edit) edit(yv, tv);
    const float batch_loss = 0.25f + float(replay);
    y.upload(yv);
    t.upload(tv);
    loss.upload(std::vector<float>{batch_loss});
    value_metrics_ref(batch_loss, yv, tv, rows, loss_is_sum, expected);
    cmd.run();
    require_no_validation_messages();
  }
  const auto got = totals.to_vector();
  // Sums of non-negative terms: the float error (Kahan per thread, a 256-wide tree, Kahan across
  // batches) is a few ulp of the sum itself.
  for (int i : {0, 4, 6}) {
    INFO("totals[" << i << "]: got " << got[i] << " expected " << expected[i]);
    CHECK(close(got[i], expected[i], 1e-5, 1e-6));
  }
  CHECK(got[1] == expected[1]);  // counts are exact
  CHECK(got[2] == expected[2]);
}

}  // namespace

TEST_CASE("accumulate_value_metrics sums squared and absolute errors over replays", "[metrics]") {
  for (uint64_t rows : {1u, 7u, 255u, 257u}) check_value_metrics(rows, 1, false, rows);
  check_value_metrics(128, 10, true, 3);
  check_value_metrics(4099, 3, false, 4);
  check_value_metrics(1031, 1021, false, 5);  // > 1M elements in one batch
}

TEST_CASE("accumulate_value_metrics on extreme values: ±1e4, denormals, zeros, inf and NaN", "[metrics]") {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const auto finite_extremes = [](std::vector<float>& y, std::vector<float>& t) {
    const float ys[] = {1e4f, -1e4f, 1e-40f, 0.0f, -0.0f, 0.5f};
    const float ts[] = {-1e4f, 1e4f, -1e-40f, 0.0f, 0.0f, 0.5f};
    for (std::size_t i = 0; i < std::size(ys); ++i) y[i * 3] = ys[i], t[i * 3] = ts[i];
  };
  check_value_metrics(257, 1, false, 21, finite_extremes);
  // An infinite error makes both sums inf and keeps them inf; a NaN one makes them NaN.
  check_value_metrics(257, 2, false, 22, [](std::vector<float>& y, std::vector<float>&) { y[17] = inf; });
  check_value_metrics(257, 2, false, 23, [](std::vector<float>& y, std::vector<float>& t) {
    y[17] = std::numeric_limits<float>::quiet_NaN();
    t[40] = -inf;
  });
}

TEST_CASE("accumulate_value_metrics refuses wrong shapes and dtypes", "[metrics]") {
  Context& ctx = context();
  Tensor loss(ctx, {1}), loss2(ctx, {2}), y(ctx, {8, 2}), t(ctx, {8, 2}), t3(ctx, {8, 3}), ti(ctx, {8, 2}, DType::i32),
      totals(ctx, {8}), totals4(ctx, {4});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(accumulate_value_metrics(cmd, loss, y, t3, totals),
                    Catch::Contains("[8, 2]") && Catch::Contains("[8, 3]"));
  CHECK_THROWS_WITH(accumulate_value_metrics(cmd, loss2, y, t, totals), Catch::Contains("'loss'"));
  CHECK_THROWS_WITH(accumulate_value_metrics(cmd, loss, y, t, totals4), Catch::Contains("'totals'"));
  CHECK_THROWS_WITH(accumulate_value_metrics(cmd, loss, y, ti, totals), Catch::Contains("target"));
}

}  // namespace vkgrad::test
