// nn::TrainerOptions::check_finite: a NaN in the data stops training naming the input batch (and
// the dataset row); parameters that overflow a module's output name that module; a learning rate
// that makes Adam diverge stops at the step and module that an independent run (check off, every
// step's forward pass inspected on the host) shows first non-finite; evaluate() reports too; bad
// labels are still reported as bad labels. Bit-identical training with the check on and off is
// tested in nn_test.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

using nn::Sequential;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// `count` rows of `features` f32 values in [-1, 1) with labels in [0, classes).
nn::DeviceDataset f32_dataset(Context& ctx, uint64_t count, uint64_t features, uint32_t classes,
                              std::vector<float>& images) {
  images = uniform(count * features, -1.0f, 1.0f, 5);
  std::vector<int32_t> labels(count);
  for (uint64_t i = 0; i < count; ++i) labels[i] = int32_t(i % classes);
  nn::DeviceDataset d;
  d.images = Tensor::from<float>(ctx, {count, features}, images);
  d.labels = Tensor::from<int32_t>(ctx, {count}, labels);
  d.scale = 1.0f;
  d.shift = 0.0f;
  return d;
}

nn::TrainerOptions options(uint64_t batch, uint32_t steps_per_submit, bool check_finite) {
  nn::TrainerOptions o;
  o.batch = batch;
  o.steps_per_submit = steps_per_submit;
  o.seed = 3;
  o.check_finite = check_finite;
  return o;
}

// Trains one epoch with the check on and returns the error it must throw.
NonFiniteError expect_nonfinite(const std::function<void()>& run) {
  try {
    run();
  } catch (const NonFiniteError& e) {
    return e;
  }
  FAIL("no NonFiniteError was thrown");
  return NonFiniteError("", false, 0, 0, 0);  // not reached: FAIL throws
}

// With the check off, one step per submission: the first batch after which the running loss is
// not finite (the loss of each earlier batch was finite, so that batch's was not).
std::optional<uint64_t> first_nonfinite_batch_unchecked(Sequential& model, const nn::DeviceDataset& data,
                                                        uint64_t batch) {
  nn::CrossEntropyLoss loss(model.context());
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::Trainer trainer(model.context(), model, loss, opt, options(batch, 1, false));
  std::optional<uint64_t> first;
  trainer.train_epoch(
      data,
      [&](uint64_t done, uint64_t, const nn::Metrics& m) {
        if (!first && !std::isfinite(m.loss)) first = (done + batch - 1) / batch;
      },
      0);
  return first;
}

}  // namespace

TEST_CASE("check_finite: a NaN pixel stops training naming the input batch and the row", "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  const uint64_t count = 64, features = 12, batch = 8;
  std::vector<float> images;
  auto data = f32_dataset(ctx, count, features, 3, images);
  images[37 * features + 5] = kNaN;
  data.images.upload(images);

  // Which batch holds row 37 depends on the epoch's shuffle: find it with the check off.
  Sequential reference(ctx);
  build_mlp(reference, features, 8, 3, 0.0f, 2);
  const auto expected_batch = first_nonfinite_batch_unchecked(reference, data, batch);
  REQUIRE(expected_batch);

  Sequential model(ctx);
  build_mlp(model, features, 8, 3, 0.0f, 2);
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::Trainer trainer(ctx, model, loss, opt, options(batch, 3, true));
  const NonFiniteError e = expect_nonfinite([&] { trainer.train_epoch(data); });
  CHECK(e.training());
  CHECK(e.epoch() == 1);
  CHECK(e.batch() == *expected_batch);
  CHECK(e.module() == NonFiniteError::input_batch);
  const std::string msg = e.what();
  CHECK_THAT(msg, Catch::Contains("epoch 1, batch " + std::to_string(*expected_batch) + " of 8"));
  CHECK_THAT(msg, Catch::Contains("input batch"));
  CHECK_THAT(msg, Catch::Contains("row 37 of the dataset, feature 5, is nan"));
  CHECK_THAT(msg, Catch::Contains("reload the last checkpoint"));
  CHECK(trainer.epochs_done() == 0);
  require_no_validation_messages();
}

TEST_CASE("check_finite: a non-finite normalisation of u8 pixels names the input batch", "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  auto data = synthetic(ctx, 40, 12, 3, 4);
  data.shift = std::numeric_limits<float>::infinity();
  Sequential model(ctx);
  build_mlp(model, 12, 8, 3, 0.0f, 2);
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model);
  nn::Trainer trainer(ctx, model, loss, opt, options(8, 2, true));
  const NonFiniteError e = expect_nonfinite([&] { trainer.train_epoch(data); });
  CHECK(e.batch() == 1);
  CHECK(e.module() == NonFiniteError::input_batch);
  CHECK_THAT(e.what(), Catch::Contains("normalisation (scale 0.00392157, shift inf)"));
  require_no_validation_messages();
}

namespace {

// Linear(24, 16) → Tanh → Linear(16, 16) → ReLU → Linear(16, 3), loaded so that module 2's output
// overflows: module 0 outputs tanh(1) ≈ 0.76 everywhere and module 2 sums 16 of them times 1e38.
void build_overflowing(Sequential& model) {
  model.emplace<nn::Linear>(24, 16);
  model.emplace<nn::Activation>(Activation::tanh);
  model.emplace<nn::Linear>(16, 16);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Linear>(16, 3);
  auto state = model.state_dict();
  for (auto& [name, h] : state) {
    const float value = name == "0.weight" ? 0.0f : name == "0.bias" ? 1.0f : name == "2.weight" ? 1e38f : 0.1f;
    h = HostTensor::from_floats(h.shape, std::vector<float>(h.numel(), value));
  }
  model.load_state_dict(state);
}

}  // namespace

TEST_CASE("check_finite: a module whose output overflows is named, in training and in evaluation",
          "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  auto data = synthetic(ctx, 48, 24, 3, 6);
  {
    Sequential model(ctx);
    build_overflowing(model);
    // With the check off the epoch completes, with a non-finite loss.
    nn::CrossEntropyLoss loss(ctx);
    nn::SGD opt(model);
    nn::Trainer trainer(ctx, model, loss, opt, options(16, 2, false));
    CHECK(std::isnan(trainer.train_epoch(data).loss));
  }
  {
    Sequential model(ctx);
    build_overflowing(model);
    nn::CrossEntropyLoss loss(ctx);
    nn::SGD opt(model);
    nn::Trainer trainer(ctx, model, loss, opt, options(16, 2, true));
    const NonFiniteError e = expect_nonfinite([&] { trainer.train_epoch(data); });
    CHECK(e.training());
    CHECK(e.batch() == 1);
    CHECK(e.module() == 2);
    CHECK_THAT(e.what(), Catch::Contains("epoch 1, batch 1 of 3"));
    CHECK_THAT(e.what(), Catch::Contains("module 2 (Linear(in_features=16, out_features=16, bias=True))"));
    CHECK_THAT(e.what(), Catch::Contains("(and of up to 1 more submitted with it)"));
  }
  {
    Sequential model(ctx);
    build_overflowing(model);
    nn::CrossEntropyLoss loss(ctx);
    nn::SGD opt(model);
    nn::Trainer trainer(ctx, model, loss, opt, options(16, 2, true));
    const NonFiniteError e = expect_nonfinite([&] { trainer.evaluate(data); });
    CHECK_FALSE(e.training());
    CHECK(e.batch() == 1);
    CHECK(e.module() == 2);
    CHECK_THAT(e.what(), Catch::Contains("Trainer::evaluate: the loss was nan at evaluation batch 1 of 3"));
  }
  require_no_validation_messages();
}

TEST_CASE("check_finite: Adam diverging stops at the step and module where the forward pass first overflows",
          "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  const uint64_t features = 8, batch = 4;
  // Every row the same, so every batch is the same whatever the shuffle, and a one-batch epoch
  // of the reference run is step for step the same as a batch of the checked run.
  std::vector<float> row = uniform(features, -1.0f, 1.0f, 8);
  auto identical = [&](uint64_t count) {
    std::vector<float> images;
    for (uint64_t i = 0; i < count; ++i) images.insert(images.end(), row.begin(), row.end());
    nn::DeviceDataset d;
    d.images = Tensor::from<float>(ctx, {count, features}, images);
    d.labels = Tensor::from<int32_t>(ctx, {count}, std::vector<int32_t>(count, 1));
    d.scale = 1.0f;
    d.shift = 0.0f;
    return d;
  };
  auto build = [&](Sequential& model) {
    model.emplace<nn::Linear>(features, 16);
    model.emplace<nn::Activation>(Activation::relu);
    model.emplace<nn::Linear>(16, 16);
    model.emplace<nn::Activation>(Activation::gelu);
    model.emplace<nn::Linear>(16, 3);
    CommandList cmd(ctx);
    model.reset_parameters(cmd, 5);
    cmd.run();
  };
  const AdamOptions adam{.lr = 1e12f};

  // Reference, check off: before each one-batch epoch, run that batch's forward pass separately
  // and look at every module's output on the host.
  uint64_t ref_step = 0;
  int64_t ref_module = -3;
  {
    auto one_batch = identical(batch);
    Sequential model(ctx);
    build(model);
    nn::CrossEntropyLoss loss(ctx), probe_loss(ctx);
    nn::Adam opt(model, adam);
    nn::Trainer trainer(ctx, model, loss, opt, options(batch, 1, false));
    Tensor x(ctx, {batch, features}), logits(ctx, {batch, 3}), value(ctx, {1});
    for (uint64_t step = 1; step <= 12 && ref_step == 0; ++step) {
      CommandList probe(ctx);
      probe.copy(one_batch.images, x);
      model.forward(probe, x, logits);
      probe_loss.forward(probe, logits, one_batch.labels, value);
      probe.run();
      if (std::isfinite(value.to_vector()[0])) {
        trainer.train_epoch(one_batch);
        continue;
      }
      ref_step = step;
      auto finite = [](const std::vector<float>& v) {
        for (float f : v) {
          if (!std::isfinite(f)) return false;
        }
        return true;
      };
      for (std::size_t i = 0; i < model.size() && ref_module < -2; ++i) {
        const auto out = i + 1 < model.size() ? model.activation(batch, i).to_vector() : logits.to_vector();
        if (!finite(out)) ref_module = int64_t(i);
      }
    }
  }
  INFO("reference: loss first non-finite at step " << ref_step << ", first in module " << ref_module);
  REQUIRE(ref_step >= 2);  // a divergence, not a model that starts non-finite
  REQUIRE(ref_module >= 0);

  auto data = identical(16 * batch);
  Sequential model(ctx);
  build(model);
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, adam);
  nn::Trainer trainer(ctx, model, loss, opt, options(batch, 3, true));
  const NonFiniteError e = expect_nonfinite([&] { trainer.train_epoch(data); });
  CHECK(e.epoch() == 1);
  CHECK(e.batch() == ref_step);
  CHECK(e.module() == ref_module);
  CHECK_THAT(e.what(), Catch::Contains("lower the learning rate"));
  // Submissions of 3 steps: the error came at the end of the one holding ref_step, so no later
  // submission ran.
  CHECK(opt.steps() == int64_t(std::min<uint64_t>(16, (ref_step + 2) / 3 * 3)));
  require_no_validation_messages();
}

TEST_CASE("check_finite: a bad label is still reported as a bad label", "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  auto data = synthetic(ctx, 40, 12, 3, 4);
  std::vector<uint8_t> labels(40, 1);
  labels[13] = 7;  // 3 classes
  data.labels.upload<uint8_t>(labels);
  Sequential model(ctx);
  build_mlp(model, 12, 8, 3, 0.0f, 2);
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model);
  nn::Trainer trainer(ctx, model, loss, opt, options(8, 2, true));
  // One call only: the update of the bad batch already ran, so a second epoch would meet
  // non-finite parameters (and rightly report those).
  std::string message;
  try {
    trainer.train_epoch(data);
  } catch (const InvalidArgument& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("has label 7"));
}

}  // namespace vkgrad::test
