// Sequential::predict against forward() in eval mode, softmax and argmax references; the bounded
// buffer caches (the memory held after inference over 256 batch sizes, eviction of forward()
// activations) and release_buffers().
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

using nn::Prediction;
using nn::Sequential;

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs one training-mode forward pass so BatchNorm's running statistics are no longer 0 and 1.
void move_running_stats(Sequential& model, uint64_t in) {
  Tensor x(model.context(), {16, in}), y(model.context(), {16, model.output_features(in)});
  x.upload(uniform(16 * in, -1, 1, 77));
  CommandList cmd(model.context());
  model.forward(cmd, x, y);
  cmd.run();
}

// The logits of forward() in eval mode, the model's mode restored after.
std::vector<float> eval_forward(Sequential& model, const std::vector<float>& xs, uint64_t rows, uint64_t in) {
  const bool was_training = model.training();
  model.eval();
  Tensor x = Tensor::from(model.context(), {rows, in}, xs), y(model.context(), {rows, model.output_features(in)});
  CommandList cmd(model.context());
  model.forward(cmd, x, y);
  cmd.run();
  model.set_training(was_training);
  return y.to_vector();
}

// A 96-64-32-10 MLP with BatchNorm1d and ReLU: the MNIST model's layer structure, narrow enough
// that 256 inference batches stay cheap on every kernel set (the buffer sizes scale with the widths,
// the caching rules under test do not depend on them).
void build_narrow_mlp(Sequential& model) {
  model.emplace<nn::Linear>(96, 64);
  model.emplace<nn::BatchNorm1d>(64);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Linear>(64, 32);
  model.emplace<nn::BatchNorm1d>(32);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Linear>(32, 10);
  CommandList cmd(model.context());
  model.reset_parameters(cmd, 3);
  cmd.run();
}

// A 6-8-3 MLP and a batch of `rows` rows with an upstream gradient, for forward() + backward().
struct SmallStep {
  Sequential model;
  Tensor x, y, dy, dx;
  SmallStep(Context& ctx, uint64_t rows)
      : model(ctx), x(ctx, {rows, 6}), y(ctx, {rows, 3}), dy(ctx, {rows, 3}), dx(ctx, {rows, 6}) {
    build_mlp(model, 6, 8, 3, 0.0f, 1);
    x.upload(uniform(rows * 6, -1, 1, 3));
    dy.upload(uniform(rows * 3, -1, 1, 4));
  }
  void record(CommandList& cmd) {
    model.forward(cmd, x, y);
    model.backward(cmd, x, y, dy, dx);
  }
  void record_backward(CommandList& cmd) { model.backward(cmd, x, y, dy, dx); }
};

TEST_CASE("Sequential::predict gives forward's eval-mode logits, their softmax and argmax", "[nn][predict]") {
  Context& ctx = context();
  const uint64_t in = 12, out = 5;
  Sequential model(ctx);
  build_mlp(model, in, 16, out, 0.3f, 2);
  move_running_stats(model, in);
  for (const bool training : {true, false}) {
    model.set_training(training);
    for (const uint64_t rows : {1, 7, 255, 257}) {
      CAPTURE(training, rows);
      const auto xs = uniform(rows * in, -2, 2, rows);
      const auto state = all_weights(model);
      // The recording overload, into the caller's list.
      Tensor x = Tensor::from(ctx, {rows, in}, xs);
      Tensor logits(ctx, {rows, out}), probs(ctx, {rows, out}), classes(ctx, {rows}, DType::i32);
      logits.fill(poison);
      CommandList cmd(ctx);
      model.predict(cmd, x, logits);
      model.predict(cmd, x, probs, Prediction::probabilities);
      model.predict(cmd, x, classes, Prediction::classes);
      cmd.run();
      CHECK(model.training() == training);
      for (std::size_t i = 0; i < model.size(); ++i) CHECK(model[i].training() == training);
      CHECK(same_bits(all_weights(model), state));  // running statistics untouched

      const auto ref = eval_forward(model, xs, rows, in);
      CHECK(same_bits(logits.to_vector(), ref));
      // The host overloads: one chunk gives the same bits, chunks of 100 rows the same values.
      CHECK(same_bits(model.predict(xs, rows), ref));
      const auto chunked = model.predict(xs, rows, Prediction::logits, 100);
      REQUIRE(chunked.size() == ref.size());
      for (std::size_t i = 0; i < ref.size(); ++i) CHECK(close(chunked[i], ref[i], 1e-5, 1e-6));

      const auto host_probs = model.predict(xs, rows, Prediction::probabilities, 100);
      const auto dev_probs = probs.to_vector();
      const auto dev_classes = classes.to_vector<int32_t>();
      const auto host_classes = model.predict_classes(xs, rows, 100);
      for (uint64_t r = 0; r < rows; ++r) {
        double m = ref[r * out];
        int32_t arg = 0;
        for (uint64_t j = 1; j < out; ++j) {
          if (ref[r * out + j] > m) {
            m = ref[r * out + j];
            arg = static_cast<int32_t>(j);
          }
        }
        double sum = 0;
        for (uint64_t j = 0; j < out; ++j) sum += std::exp(double(ref[r * out + j]) - m);
        for (uint64_t j = 0; j < out; ++j) {
          const double p = std::exp(double(ref[r * out + j]) - m) / sum;
          CHECK(close(dev_probs[r * out + j], p, 1e-5, 1e-6));
          CHECK(close(host_probs[r * out + j], p, 1e-5, 1e-6));
        }
        CHECK(dev_classes[r] == arg);
        CHECK(host_classes[r] == arg);
      }
    }
  }
  require_no_validation_messages();
}

TEST_CASE("Sequential::predict refuses outputs and inputs that do not fit", "[nn][predict]") {
  Context& ctx = context();
  Sequential empty(ctx);
  Tensor x(ctx, {4, 6}), y(ctx, {4, 3}), classes(ctx, {4}, DType::i32), wide(ctx, {4, 5});
  CommandList cmd(ctx);
  require_refused([&] { empty.predict(cmd, x, y); }, {"no layers"});
  Sequential model(ctx);
  build_mlp(model, 6, 8, 3, 0.0f, 1);
  require_refused([&] { model.predict(cmd, x, classes); }, {"Sequential::predict", "'y'", "f32", "3 features"});
  require_refused([&] { model.predict(cmd, x, y, Prediction::classes); }, {"'y'", "i32", "class index"});
  require_refused([&] { model.predict(cmd, wide, y); }, {"expects 6 input features, got 5"});
  CHECK(cmd.dispatch_count() == 0);
  const std::vector<float> xs(24, 0.5f);
  require_refused([&] { model.predict(xs, 4, Prediction::classes); }, {"predict_classes"});
  require_refused([&] { model.predict(xs, 0); }, {"rows and max_batch must be >= 1"});
  require_refused([&] { model.predict_classes(xs, 4, 0); }, {"rows and max_batch must be >= 1"});
  require_refused([&] { model.predict(xs, 5); }, {"24 values", "5 rows"});
  require_refused([&] { model.predict(std::span<const float>(xs).first(20), 4); }, {"expects 6 input features"});
  require_no_validation_messages();
}

TEST_CASE("inference over 256 batch sizes holds at most twice what the largest batch needs", "[predict][memory]") {
  Context& ctx = context();
  Sequential model(ctx);
  build_narrow_mlp(model);
  const uint64_t in = 96, largest = 256;
  const auto xs = uniform(largest * in, 0, 1, 5);
  const auto rows_of = [&](uint64_t rows) { return std::span<const float>(xs).first(rows * in); };
  model.predict(xs, largest);  // staging buffers reach their size for this input
  model.release_buffers();
  CHECK(model.cached_bytes() == 0);

  const uint64_t base = ctx.allocated_bytes();
  model.predict(xs, largest);
  const uint64_t alone = ctx.allocated_bytes() - base;
  const uint64_t cached_alone = model.cached_bytes();
  CHECK(cached_alone > 0);
  CHECK(alone >= cached_alone);
  model.release_buffers();
  CHECK(ctx.allocated_bytes() == base);
  for (uint64_t rows = 1; rows <= largest; ++rows) model.predict(rows_of(rows), rows);
  const uint64_t held = ctx.allocated_bytes() - base;
  CAPTURE(alone, held, model.cached_bytes());
  CHECK(held <= 2 * alone);
  CHECK(model.cached_bytes() <= 2 * cached_alone);
  model.release_buffers();
  CHECK(ctx.allocated_bytes() == base);

  // forward() in eval mode keeps at most max_cached_batch_sizes batch sizes, and no gradients.
  model.eval();
  Tensor x(ctx, {largest, in}), y(ctx, {largest, 10});
  const uint64_t with_xy = ctx.allocated_bytes();
  {
    CommandList cmd(ctx);
    model.forward(cmd, x, y);
  }
  const uint64_t forward_alone = model.cached_bytes();
  for (uint64_t rows = 1; rows <= largest; ++rows) {
    Tensor xr(ctx, {rows, in}), yr(ctx, {rows, 10});
    CommandList cmd(ctx);
    model.forward(cmd, xr, yr);
  }
  CAPTURE(forward_alone, model.cached_bytes());
  CHECK(model.cached_bytes() <= Sequential::max_cached_batch_sizes * forward_alone);
  model.release_buffers();
  CHECK(ctx.allocated_bytes() == with_xy);
  require_no_validation_messages();
}

TEST_CASE("release_buffers frees the cached buffers, and the model still trains and predicts", "[nn][predict]") {
  Context& ctx = context();
  SmallStep s(ctx, 8);
  Sequential& model = s.model;
  const auto xs = uniform(60, -1, 1, 5);
  {
    CommandList cmd(ctx);
    s.record(cmd);
    cmd.run();
  }
  const auto predicted = model.predict(xs, 10);
  const uint64_t cached = model.cached_bytes();
  const uint64_t before = ctx.allocated_bytes();
  CHECK(cached > 0);
  model.release_buffers();
  CHECK(model.cached_bytes() == 0);
  CHECK(before - ctx.allocated_bytes() >= cached);
  CommandList cmd(ctx);
  require_refused([&] { s.record_backward(cmd); }, {"Sequential::backward", "8 rows", "record forward"});
  CHECK(same_bits(model.predict(xs, 10), predicted));
  CHECK_NOTHROW(s.record(cmd));
  cmd.run();
  for (float v : s.dx.to_vector()) CHECK(std::isfinite(v));
  require_no_validation_messages();
}

TEST_CASE("forward() evicts the least recently used batch size, and lists recorded before still run", "[nn][predict]") {
  Context& ctx = context();
  SmallStep s(ctx, 5);
  CommandList step(ctx);
  s.record(step);
  step.run();
  const auto first = s.dx.to_vector();
  // max_cached_batch_sizes other batch sizes evict the 5-row activations.
  for (uint64_t rows = 6; rows < 6 + Sequential::max_cached_batch_sizes; ++rows) {
    Tensor xr(ctx, {rows, 6}), yr(ctx, {rows, 3});
    xr.upload(uniform(rows * 6, -1, 1, rows));
    CommandList cmd(ctx);
    s.model.forward(cmd, xr, yr);
    cmd.run();
  }
  CommandList again(ctx);
  require_refused([&] { s.record_backward(again); }, {"5 rows", "record forward"});
  CHECK_NOTHROW(s.model.activation(6 + Sequential::max_cached_batch_sizes - 1, 0));
  // The list recorded before keeps its buffers: it replays to the same gradients.
  s.dx.fill(poison);
  step.run();
  CHECK(same_bits(s.dx.to_vector(), first));
  require_no_validation_messages();
}

}  // namespace
}  // namespace vkgrad::test
