// Soak test, outside the default run (hidden tag): trains a small MLP (BatchNorm, Dropout, Adam,
// check_finite on) for VKGRAD_SOAK_EPOCHS epochs (default 80) twice with the same seeds and checks
//   - device memory (Context::allocated_bytes / reserved_bytes) is the same after every epoch as
//     after the first, and allocated_bytes returns to its starting value once the run is gone;
//   - the two runs are bit-identical (per-epoch training loss, evaluation metrics, final
//     parameters), although run A evaluates after every epoch and run B only after odd epochs: so
//     evaluating does not perturb training.
// Run:  VKGRAD_SOAK_EPOCHS=100 build/tests/vkgrad_tests "[.soak]"   (prints its figures)
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

struct SoakRun {
  std::vector<double> train_losses;
  std::vector<double> eval_losses, eval_accuracy;  // NaN for epochs without evaluation
  std::vector<float> weights;
  uint64_t allocated_after_first = 0, reserved_after_first = 0;
  uint64_t allocated_max = 0, reserved_max = 0, allocated_min = UINT64_MAX, reserved_min = UINT64_MAX;
  double seconds = 0;
};

SoakRun soak(uint64_t epochs, bool evaluate_every_epoch) {
  Context& ctx = context();
  const auto t0 = std::chrono::steady_clock::now();
  auto train_set = synthetic(ctx, 2000, 64, 10, 21), test_set = synthetic(ctx, 500, 64, 10, 22);
  nn::Sequential model(ctx);
  build_mlp(model, 64, 128, 10, 0.2f, 7);
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-3f});
  nn::TrainerOptions o;
  o.batch = 50;
  o.seed = 5;
  o.steps_per_submit = 8;  // fixed, so both runs submit the same way (the result must not depend on it anyway)
  nn::Trainer trainer(ctx, model, loss, opt, o);
  SoakRun r;
  for (uint64_t e = 1; e <= epochs; ++e) {
    r.train_losses.push_back(trainer.train_epoch(train_set).loss);
    if (evaluate_every_epoch || e % 2 == 1) {
      const nn::Metrics m = trainer.evaluate(test_set);
      r.eval_losses.push_back(m.loss);
      r.eval_accuracy.push_back(m.accuracy);
    } else {
      r.eval_losses.push_back(std::nan(""));
      r.eval_accuracy.push_back(std::nan(""));
    }
    const uint64_t allocated = ctx.allocated_bytes(), reserved = ctx.reserved_bytes();
    if (e == 1) {
      r.allocated_after_first = allocated;
      r.reserved_after_first = reserved;
    }
    // The first epoch without an evaluation (epoch 2 of run B) is also a first time for nothing:
    // evaluation's tensors already exist from epoch 1.
    r.allocated_max = std::max(r.allocated_max, allocated);
    r.reserved_max = std::max(r.reserved_max, reserved);
    r.allocated_min = std::min(r.allocated_min, allocated);
    r.reserved_min = std::min(r.reserved_min, reserved);
  }
  require_no_validation_messages();
  r.weights = all_weights(model);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

uint64_t soak_epochs() {
  const char* env = std::getenv("VKGRAD_SOAK_EPOCHS");
  if (!env || !*env) return 80;
  const uint64_t n = std::stoull(env);
  if (n < 2) throw std::invalid_argument("VKGRAD_SOAK_EPOCHS must be >= 2");
  return n;
}

// Equal as bit patterns where both are numbers, and NaN in the same places.
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) continue;  // an epoch only one run evaluated
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("soak: memory stays flat over many epochs and runs are bit-identical", "[.soak]") {
  Context& ctx = context();
  const uint64_t epochs = soak_epochs();
  const uint64_t allocated_before = ctx.allocated_bytes(), reserved_before = ctx.reserved_bytes();
  const SoakRun a = soak(epochs, true);
  const uint64_t allocated_between = ctx.allocated_bytes();
  const SoakRun b = soak(epochs, false);
  const uint64_t allocated_after = ctx.allocated_bytes(), reserved_after = ctx.reserved_bytes();

  for (const SoakRun* r : {&a, &b}) {
    std::printf("soak run %c: %llu epochs in %.1f s, train loss %.6f after epoch 1, %.6f after the last\n",
                r == &a ? 'A' : 'B', (unsigned long long)epochs, r->seconds, r->train_losses.front(),
                r->train_losses.back());
    std::printf("  allocated after epoch 1: %llu bytes, min/max over all epochs: %llu / %llu\n",
                (unsigned long long)r->allocated_after_first, (unsigned long long)r->allocated_min,
                (unsigned long long)r->allocated_max);
    std::printf("  reserved  after epoch 1: %llu bytes, min/max over all epochs: %llu / %llu\n",
                (unsigned long long)r->reserved_after_first, (unsigned long long)r->reserved_min,
                (unsigned long long)r->reserved_max);
    CHECK(r->allocated_min == r->allocated_after_first);
    CHECK(r->allocated_max == r->allocated_after_first);
    CHECK(r->reserved_min == r->reserved_after_first);
    CHECK(r->reserved_max == r->reserved_after_first);
  }
  std::printf(
      "context: allocated %llu bytes before, %llu between the runs, %llu after; reserved %llu before, %llu after\n",
      (unsigned long long)allocated_before, (unsigned long long)allocated_between, (unsigned long long)allocated_after,
      (unsigned long long)reserved_before, (unsigned long long)reserved_after);
  std::fflush(stdout);
  CHECK(allocated_between == allocated_before);
  CHECK(allocated_after == allocated_before);
  CHECK(b.allocated_after_first == a.allocated_after_first);

  CHECK(a.train_losses == b.train_losses);
  CHECK(same(a.eval_losses, b.eval_losses));
  CHECK(same(a.eval_accuracy, b.eval_accuracy));
  CHECK(a.weights == b.weights);
  // It trained: the loss fell.
  CHECK(a.train_losses.back() < 0.8 * a.train_losses.front());
}

}  // namespace vkgrad::test
