// nn::Residual: y = x + fn(x) forward and backward against a double CPU reference (itself checked
// by finite differences), its state_dict names, mode / step counter / buffer pass-through,
// Sequential::predict through it, misuse, and a residual MLP that learns with the Trainer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

using nn::Residual;
using nn::Sequential;

// y = x + W2·tanh(W1·x + b1) + b2 for x (n, d), W1 (h, d), W2 (d, h), in double, and its
// gradients given dy: dx, dW1, db1, dW2, db2.
struct ResidualRef {
  std::size_t n, d, h;
  std::vector<double> w1, b1, w2, b2;

  std::vector<double> hidden(const std::vector<double>& x) const {
    std::vector<double> a(n * h);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < h; ++j) {
        double s = b1[j];
        for (std::size_t k = 0; k < d; ++k) s += w1[j * d + k] * x[r * d + k];
        a[r * h + j] = std::tanh(s);
      }
    }
    return a;
  }

  std::vector<double> forward(const std::vector<double>& x) const {
    const auto a = hidden(x);
    std::vector<double> y(n * d);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < d; ++j) {
        double s = b2[j];
        for (std::size_t k = 0; k < h; ++k) s += w2[j * h + k] * a[r * h + k];
        y[r * d + j] = x[r * d + j] + s;
      }
    }
    return y;
  }

  // grads: dx, dW1, db1, dW2, db2.
  std::vector<std::vector<double>> backward(const std::vector<double>& x, const std::vector<double>& dy) const {
    const auto a = hidden(x);
    std::vector<std::vector<double>> g{dy, std::vector<double>(h * d), std::vector<double>(h),
                                       std::vector<double>(d * h), std::vector<double>(d)};
    for (std::size_t r = 0; r < n; ++r) {
      std::vector<double> dpre(h);
      for (std::size_t k = 0; k < h; ++k) {
        double da = 0;
        for (std::size_t j = 0; j < d; ++j) {
          da += dy[r * d + j] * w2[j * h + k];
          g[3][j * h + k] += dy[r * d + j] * a[r * h + k];
        }
        dpre[k] = da * (1 - a[r * h + k] * a[r * h + k]);
        g[2][k] += dpre[k];
      }
      for (std::size_t j = 0; j < d; ++j) g[4][j] += dy[r * d + j];
      for (std::size_t k = 0; k < h; ++k) {
        for (std::size_t i = 0; i < d; ++i) {
          g[1][k * d + i] += dpre[k] * x[r * d + i];
          g[0][r * d + i] += dpre[k] * w1[k * d + i];  // the fn path; g[0] started as the skip's dy
        }
      }
    }
    return g;
  }
};

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// A Residual around Linear(d, h) → tanh → Linear(h, d), initialised from `seed`.
std::unique_ptr<Residual> make_block(Context& ctx, uint64_t d, uint64_t h, uint64_t seed) {
  auto fn = std::make_unique<Sequential>(ctx);
  fn->emplace<nn::Linear>(d, h);
  fn->emplace<nn::Activation>(Activation::tanh);
  fn->emplace<nn::Linear>(h, d);
  auto block = std::make_unique<Residual>(ctx, std::move(fn));
  CommandList init(ctx);
  block->reset_parameters(init, seed);
  init.run();
  return block;
}

ResidualRef reference_of(Residual& block, std::size_t n, std::size_t d, std::size_t h) {
  auto& fn = dynamic_cast<Sequential&>(block.fn());
  auto& l1 = dynamic_cast<nn::Linear&>(fn[0]);
  auto& l2 = dynamic_cast<nn::Linear&>(fn[2]);
  return {n,
          d,
          h,
          to_double(l1.weight().to_vector()),
          to_double(l1.bias().to_vector()),
          to_double(l2.weight().to_vector()),
          to_double(l2.bias().to_vector())};
}

}  // namespace

TEST_CASE("the Residual CPU reference's gradients match finite differences", "[nn][reference]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> dist(-1, 1);
  const std::size_t n = 2, d = 3, h = 4;
  ResidualRef ref{
      n, d, h, std::vector<double>(h * d), std::vector<double>(h), std::vector<double>(d * h), std::vector<double>(d)};
  for (auto* v : {&ref.w1, &ref.b1, &ref.w2, &ref.b2}) {
    for (auto& e : *v) e = dist(rng);
  }
  std::vector<double> x(n * d), dy(n * d);
  for (auto& e : x) e = dist(rng);
  for (auto& e : dy) e = dist(rng);
  const auto g = ref.backward(x, dy);
  // L = Σ dy ⊙ y, differentiated along x and along each parameter.
  auto weighted = [&](const ResidualRef& r, const std::vector<double>& xs) {
    const auto y = r.forward(xs);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += dy[i] * y[i];
    return l;
  };
  const double step = 1e-6;
  for (std::size_t t = 0; t < 5; ++t) {
    for (std::size_t i = 0; i < g[t].size(); ++i) {
      ResidualRef up = ref, down = ref;
      std::vector<double> xu = x, xd = x;
      std::vector<double>* targets[5][2] = {
          {&xu, &xd}, {&up.w1, &down.w1}, {&up.b1, &down.b1}, {&up.w2, &down.w2}, {&up.b2, &down.b2}};
      (*targets[t][0])[i] += step;
      (*targets[t][1])[i] -= step;
      const double fd = (weighted(up, xu) - weighted(down, xd)) / (2 * step);
      INFO("gradient " << t << " element " << i << ": analytic " << g[t][i] << " fd " << fd);
      CHECK(std::fabs(g[t][i] - fd) <= 1e-8 + 1e-6 * std::fabs(fd));
    }
  }
}

TEST_CASE("Residual forward and backward match the CPU reference", "[nn]") {
  Context& ctx = context();
  for (auto [n, d, h] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1}, {7, 5, 3}, {33, 64, 31}}) {
    CAPTURE(n, d, h);
    auto block = make_block(ctx, d, h, 21);
    const ResidualRef ref = reference_of(*block, n, d, h);
    const auto xs = uniform(n * d, -2.0f, 2.0f, 8), dys = uniform(n * d, -1.0f, 1.0f, 9);
    Tensor x = Tensor::from(ctx, {n, d}, xs), dy = Tensor::from(ctx, {n, d}, dys), y(ctx, {n, d}), dx(ctx, {n, d});
    y.fill(poison);
    dx.fill(poison);
    for (const auto& p : block->parameters()) p.grad->fill(poison);
    CommandList cmd(ctx);
    block->forward(cmd, x, y);
    block->backward(cmd, x, y, dy, dx);
    cmd.run();
    require_no_validation_messages();
    const auto g = ref.backward(to_double(xs), to_double(dys));
    // Dot products of up to 64 f32 terms: the error is relative to the largest term rather than
    // to the result, so 1e-5 of each tensor's largest entry bounds it (with margin).
    auto check = [](const Tensor& got, const std::vector<double>& want, const char* what) {
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::fabs(v));
      const auto m = compare(got.to_vector(), want, 1e-5, 1e-5 * scale + 1e-7);
      INFO(what << ": " << m.count << " mismatches, worst " << m.got << " vs " << m.expected);
      CHECK(m.count == 0);
    };
    check(y, ref.forward(to_double(xs)), "y");
    check(dx, g[0], "dx");
    const auto params = block->parameters();
    REQUIRE(params.size() == 4);
    for (std::size_t t = 0; t < 4; ++t) check(*params[t].grad, g[t + 1], params[t].name.c_str());
  }
}

TEST_CASE("Residual names its parameters as PyTorch and passes state through", "[nn]") {
  Context& ctx = context();
  Sequential model(ctx);
  model.emplace<nn::Linear>(5, 4);
  model.add(make_block(ctx, 4, 6, 1));
  model.emplace<nn::Linear>(4, 3);
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.fn.0.weight", "1.fn.0.bias", "1.fn.2.weight",
                                          "1.fn.2.bias", "2.weight", "2.bias"});
  CHECK(model.summary(5).find("Residual") != std::string::npos);
  // A state_dict round trip through the nested names restores the weights.
  const auto saved = model.state_dict();
  const auto before = all_weights(model);
  CommandList reinit(ctx);
  model.reset_parameters(reinit, 77);
  reinit.run();
  REQUIRE(all_weights(model) != before);
  model.load_state_dict(saved);
  CHECK(all_weights(model) == before);
  // Buffers of a BatchNorm1d inside fn are the model's, under the same prefix.
  Sequential with_bn(ctx);
  auto fn = std::make_unique<Sequential>(ctx);
  fn->emplace<nn::BatchNorm1d>(4);
  with_bn.add(std::make_unique<Residual>(ctx, std::move(fn)));
  std::vector<std::string> buffers;
  for (const auto& b : with_bn.buffers()) buffers.push_back(b.name);
  CHECK(buffers == std::vector<std::string>{"0.fn.0.running_mean", "0.fn.0.running_var"});
  // Mode switching reaches fn.
  with_bn.eval();
  CHECK_FALSE(dynamic_cast<Residual&>(with_bn[0]).fn().training());
  with_bn.train();
  CHECK(dynamic_cast<Residual&>(with_bn[0]).fn().training());
}

TEST_CASE("a Dropout inside a Residual draws a new mask at each step of the model's counter", "[nn]") {
  Context& ctx = context();
  Sequential model(ctx);
  auto fn = std::make_unique<Sequential>(ctx);
  fn->emplace<nn::Dropout>(0.5f);
  model.add(std::make_unique<Residual>(ctx, std::move(fn)));
  const std::size_t n = 64, d = 16;
  const auto xs = uniform(n * d, 1.0f, 2.0f, 3);
  Tensor x = Tensor::from(ctx, {n, d}, xs), y(ctx, {n, d});
  std::vector<float> outputs[2];
  for (int32_t step = 0; step < 2; ++step) {
    model.step_counter().upload(std::span<const int32_t>(&step, 1));
    y.fill(poison);
    CommandList cmd(ctx);
    model.forward(cmd, x, y);
    cmd.run();
    outputs[step] = y.to_vector();
  }
  require_no_validation_messages();
  // y = x + dropout(x): each element is x (dropped) or x + 2x (kept, scaled by 1 / (1 - p)).
  std::size_t kept = 0, differ = 0;
  for (std::size_t i = 0; i < n * d; ++i) {
    for (const auto& out : outputs) {
      const bool dropped = out[i] == xs[i], kept_here = std::fabs(out[i] - 3 * xs[i]) <= 1e-6f * 3 * xs[i];
      CHECK((dropped || kept_here));
      kept += kept_here;
    }
    differ += outputs[0][i] != outputs[1][i];
  }
  CHECK(kept > n * d / 2);  // about half of 2 · n · d
  CHECK(kept < 3 * n * d / 2);
  CHECK(differ > n * d / 4);  // the two steps' masks are not the same
  // In eval mode Dropout is the identity: y = 2x.
  model.eval();
  CommandList cmd(ctx);
  model.forward(cmd, x, y);
  cmd.run();
  const auto eval = y.to_vector();
  for (std::size_t i = 0; i < n * d; ++i) CHECK(eval[i] == 2 * xs[i]);
}

TEST_CASE("Residual refuses a width-changing fn and a backward without its forward", "[nn]") {
  Context& ctx = context();
  require_refused([&] { Residual r(ctx, nullptr); }, {"Residual", "null module"});
  Sequential model(ctx);
  model.add(std::make_unique<Residual>(ctx, std::make_unique<nn::Linear>(ctx, 4, 3)));
  Tensor x(ctx, {2, 4}), y(ctx, {2, 4}), none;
  CommandList cmd(ctx);
  require_refused([&] { model.forward(cmd, x, y); },
                  {"Residual", "maps 4 features to 3", "output width to equal its input width", "layer 0"});
  auto block = make_block(ctx, 4, 2, 1);
  require_refused([&] { block->backward(cmd, x, y, y, none); }, {"Residual::backward", "no forward pass", "2 rows"});
  Tensor wrong(ctx, {2, 5});
  require_refused([&] { block->forward(cmd, x, wrong); }, {"Residual::forward", "'y' [2, 5]", "'x' [2, 4]"});
}

TEST_CASE("a residual MLP learns with the Trainer, and predict runs through it", "[nn][trainer]") {
  Context& ctx = context();
  auto train_set = synthetic(ctx, 301, 24, 3, 1), test_set = synthetic(ctx, 97, 24, 3, 2);
  // Linear → [Residual(Linear → ReLU → Linear)] → Linear.
  Sequential model(ctx);
  model.emplace<nn::Linear>(24, 16);
  auto fn = std::make_unique<Sequential>(ctx);
  fn->emplace<nn::Linear>(16, 16);
  fn->emplace<nn::Activation>(Activation::relu);
  fn->emplace<nn::Linear>(16, 16);
  model.add(std::make_unique<Residual>(ctx, std::move(fn)));
  model.emplace<nn::Linear>(16, 3);
  CommandList init(ctx);
  model.reset_parameters(init, 5);
  init.run();
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::TrainerOptions o;
  o.batch = 32;
  o.seed = 4;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  const nn::Metrics start = trainer.evaluate(test_set);
  for (int epoch = 0; epoch < 4; ++epoch) trainer.train_epoch(train_set);
  const nn::Metrics end = trainer.evaluate(test_set);
  require_no_validation_messages();
  INFO("held-out loss " << start.loss << " -> " << end.loss << ", accuracy " << start.accuracy << " -> "
                        << end.accuracy);
  // Three classes: chance is 1/3 accuracy and a loss near log 3 ≈ 1.1 for an untrained model.
  CHECK(end.loss < 0.5 * start.loss);
  CHECK(end.accuracy > 0.8);

  // predict's logits are forward()'s in eval mode, bit for bit, with the Residual in the middle.
  const std::size_t rows = 13;
  const auto xs = uniform(rows * 24, -0.5f, 0.5f, 6);
  Tensor x = Tensor::from(ctx, {rows, 24}, xs), y(ctx, {rows, 3});
  model.eval();
  CommandList cmd(ctx);
  model.forward(cmd, x, y);
  cmd.run();
  model.train();
  const auto forward_logits = y.to_vector();
  CHECK(model.predict(xs, rows) == forward_logits);
  CHECK(model.training());
  const auto classes = model.predict_classes(xs, rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const auto* row = &forward_logits[r * 3];
    CHECK(classes[r] == int32_t(std::max_element(row, row + 3) - row));
  }
  // The Residual's cached buffers count in the model's, and go with release_buffers().
  CHECK(model.cached_bytes() > 0);
  const uint64_t residual_bytes = dynamic_cast<Residual&>(model[1]).cached_bytes();
  CHECK(residual_bytes > 0);
  model.release_buffers();
  CHECK(model.cached_bytes() == 0);
}

}  // namespace vkgrad::test
