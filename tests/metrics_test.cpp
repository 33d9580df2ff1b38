// accumulate_metrics: loss · N, correct predictions and rows summed on the device over many batches,
// against a plain double-precision reference.
#include <catch2/catch.hpp>

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

}  // namespace vkgrad::test
