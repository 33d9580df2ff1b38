// The nn API: a 2-layer model's gradients against a double-precision CPU reference (itself checked
// by finite differences), state_dict names and round trips, the recorded Trainer's reproducibility,
// its independence from the steps per submission, and exact resume from saved state.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <optional>
#include <random>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

using nn::Sequential;

// CPU reference of Linear(in→hidden) → tanh → Linear(hidden→out) → mean cross-entropy, in double.
struct MlpRef {
  std::size_t n, in, hidden, out;
  std::vector<double> w1, b1, w2, b2;  // PyTorch layout: w (out × in)

  double loss(const std::vector<double>& x, const std::vector<int>& labels, std::vector<double>* gw1 = nullptr,
              std::vector<double>* gb1 = nullptr, std::vector<double>* gw2 = nullptr,
              std::vector<double>* gb2 = nullptr) const {
    std::vector<double> h(n * hidden), a(n * hidden), z(n * out), dz(n * out);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < hidden; ++j) {
        double s = b1[j];
        for (std::size_t k = 0; k < in; ++k) s += x[r * in + k] * w1[j * in + k];
        h[r * hidden + j] = s;
        a[r * hidden + j] = std::tanh(s);
      }
      for (std::size_t j = 0; j < out; ++j) {
        double s = b2[j];
        for (std::size_t k = 0; k < hidden; ++k) s += a[r * hidden + k] * w2[j * hidden + k];
        z[r * out + j] = s;
      }
    }
    double total = 0;
    for (std::size_t r = 0; r < n; ++r) {
      double m = z[r * out];
      for (std::size_t j = 1; j < out; ++j) m = std::max(m, z[r * out + j]);
      double se = 0;
      for (std::size_t j = 0; j < out; ++j) se += std::exp(z[r * out + j] - m);
      const double lse = m + std::log(se);
      total += lse - z[r * out + labels[r]];
      for (std::size_t j = 0; j < out; ++j) {
        dz[r * out + j] = (std::exp(z[r * out + j] - lse) - (int(j) == labels[r] ? 1.0 : 0.0)) / double(n);
      }
    }
    if (gw1) {
      gw1->assign(w1.size(), 0);
      gb1->assign(b1.size(), 0);
      gw2->assign(w2.size(), 0);
      gb2->assign(b2.size(), 0);
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t j = 0; j < out; ++j) {
          (*gb2)[j] += dz[r * out + j];
          for (std::size_t k = 0; k < hidden; ++k) (*gw2)[j * hidden + k] += dz[r * out + j] * a[r * hidden + k];
        }
        for (std::size_t k = 0; k < hidden; ++k) {
          double da = 0;
          for (std::size_t j = 0; j < out; ++j) da += dz[r * out + j] * w2[j * hidden + k];
          const double dh = da * (1 - a[r * hidden + k] * a[r * hidden + k]);
          (*gb1)[k] += dh;
          for (std::size_t i = 0; i < in; ++i) (*gw1)[k * in + i] += dh * x[r * in + i];
        }
      }
    }
    return total / double(n);
  }
};

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("the MLP CPU reference's gradients match finite differences", "[nn][reference]") {
  MlpRef m{3, 4, 5, 3, {}, {}, {}, {}};
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto* v : {&m.w1, &m.b1, &m.w2, &m.b2}) {
    const std::size_t size = v == &m.w1   ? m.hidden * m.in
                             : v == &m.b1 ? m.hidden
                             : v == &m.w2 ? m.out * m.hidden
                                          : m.out;
    v->resize(size);
    for (auto& e : *v) e = u(rng);
  }
  std::vector<double> x(m.n * m.in);
  for (auto& e : x) e = u(rng);
  const std::vector<int> labels{0, 2, 1};
  std::vector<double> g[4];
  m.loss(x, labels, &g[0], &g[1], &g[2], &g[3]);
  std::vector<double>* params[4] = {&m.w1, &m.b1, &m.w2, &m.b2};
  for (int t = 0; t < 4; ++t) {
    for (std::size_t i = 0; i < params[t]->size(); ++i) {
      const double keep = (*params[t])[i], h = 1e-6;
      (*params[t])[i] = keep + h;
      const double up = m.loss(x, labels);
      (*params[t])[i] = keep - h;
      const double down = m.loss(x, labels);
      (*params[t])[i] = keep;
      // Central difference: truncation O(h²) ≈ 1e-12, cancellation ≈ 1e-16 / h = 1e-10.
      CHECK(std::fabs((up - down) / (2 * h) - g[t][i]) <= 1e-8);
    }
  }
}

TEST_CASE("Sequential Linear-tanh-Linear gradients match the CPU reference", "[nn]") {
  Context& ctx = context();
  for (auto [n, in, hidden, out] :
       {std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>{1, 1, 1, 2}, {7, 13, 5, 3}, {33, 257, 31, 10}}) {
    CAPTURE(n, in, hidden, out);
    Sequential model(ctx);
    auto& l1 = model.emplace<nn::Linear>(in, hidden);
    model.emplace<nn::Activation>(Activation::tanh);
    auto& l2 = model.emplace<nn::Linear>(hidden, out);
    CommandList init(ctx);
    model.reset_parameters(init, 11);
    init.run();
    MlpRef ref{n,
               in,
               hidden,
               out,
               to_double(l1.weight().to_vector()),
               to_double(l1.bias().to_vector()),
               to_double(l2.weight().to_vector()),
               to_double(l2.bias().to_vector())};
    const auto xs = uniform(n * in, -2.0f, 2.0f, 5);
    std::vector<int32_t> labels(n);
    for (uint64_t r = 0; r < n; ++r) labels[r] = int32_t((r * 7) % out);
    Tensor x = Tensor::from(ctx, {n, in}, xs), y(ctx, {n, out}), dy(ctx, {n, out}), loss(ctx, {1});
    Tensor tl = Tensor::from<int32_t>(ctx, {n}, labels), no_dx;
    for (const auto& p : model.parameters()) p.grad->fill(poison);
    nn::CrossEntropyLoss ce(ctx);
    CommandList cmd(ctx);
    model.forward(cmd, x, y);
    ce.forward(cmd, y, tl, loss);
    ce.backward(cmd, y, tl, dy);
    model.backward(cmd, x, y, dy, no_dx);
    cmd.run();
    require_no_validation_messages();
    std::vector<double> g[4];
    const double expected_loss =
        ref.loss(to_double(xs), std::vector<int>(labels.begin(), labels.end()), &g[0], &g[1], &g[2], &g[3]);
    // Products of K terms in f32: relative error grows with K (K <= 257 here) — 1e-4 relative to
    // the largest gradient entry covers it with margin (measured worst ≈ 1e-6).
    CHECK(close(loss.to_vector()[0], expected_loss, 1e-5, 1e-6));
    Tensor* grads[4] = {&l1.weight_grad(), &l1.bias_grad(), &l2.weight_grad(), &l2.bias_grad()};
    for (int t = 0; t < 4; ++t) {
      double scale = 0;
      for (double v : g[t]) scale = std::max(scale, std::fabs(v));
      const auto mismatch = compare(grads[t]->to_vector(), g[t], 1e-4, 1e-4 * scale + 1e-7);
      INFO("gradient " << t << " worst " << mismatch.got << " vs " << mismatch.expected);
      CHECK(mismatch.count == 0);
    }
  }
}

TEST_CASE("state_dict has PyTorch's names and a mismatching state is refused whole", "[nn]") {
  Context& ctx = context();
  Sequential model(ctx);
  build_mlp(model, 6, 4, 3, 0.2f, 1);
  const auto state = model.state_dict();
  std::vector<std::string> names;
  for (const auto& [name, t] : state) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                          "1.num_batches_tracked", "4.weight", "4.bias"});
  CHECK(state[0].second.dtype == "F32");
  CHECK(state[0].second.shape == std::vector<uint64_t>{4, 6});
  CHECK(state[6].second.dtype == "I64");
  CHECK(state[6].second.shape.empty());

  Sequential other(ctx);
  build_mlp(other, 6, 4, 3, 0.2f, 2);
  CHECK(all_weights(other) != all_weights(model));
  other.load_state_dict(state);
  CHECK(all_weights(other) == all_weights(model));

  Sequential wider(ctx);
  build_mlp(wider, 6, 5, 3, 0.2f, 2);
  const auto before = all_weights(wider);
  CHECK_THROWS_WITH(wider.load_state_dict(state),
                    Catch::Contains("'0.weight' is F32 [4, 6] but the model expects F32 [5, 6]"));
  CHECK(all_weights(wider) == before);  // nothing was loaded
  auto missing = state;
  missing.erase(missing.begin() + 4);
  missing.push_back({"9.weight", state[0].second});
  CHECK_THROWS_WITH(other.load_state_dict(missing),
                    Catch::Contains("missing '1.running_mean'") && Catch::Contains("unexpected '9.weight'"));
}

TEST_CASE("summary lists layers, output shapes and the parameter count", "[nn]") {
  Context& ctx = context();
  Sequential model(ctx);
  build_mlp(model, 784, 512, 10, 0.2f, 1);
  const std::string s = model.summary(784);
  CHECK_THAT(s, Catch::Contains("(0): Linear(in_features=784, out_features=512, bias=True)"));
  CHECK_THAT(s,
             Catch::Contains("(1): BatchNorm1d(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"));
  CHECK_THAT(s, Catch::Contains("(3): Dropout(p=0.2, inplace=False)"));
  CHECK_THAT(s, Catch::Contains("[N, 10]"));
  const uint64_t expected = 784 * 512 + 512 + 2 * 512 + 512 * 10 + 10;
  CHECK(model.parameter_count() == expected);
  CHECK_THAT(s, Catch::Contains("total parameters: " + std::to_string(expected)));
}

namespace {

struct Run {
  std::vector<double> losses;
  std::vector<double> test_accuracy;
  std::vector<double> test_losses;
  std::vector<float> weights;
};

// Trains `epochs` epochs, evaluating after each.
Run train(uint64_t epochs, uint32_t steps_per_submit, uint64_t batch = 32, bool check_finite = true) {
  Context& ctx = context();
  auto train_set = synthetic(ctx, 301, 24, 3, 1), test_set = synthetic(ctx, 97, 24, 3, 2);
  Sequential model(ctx);
  build_mlp(model, 24, 16, 3, 0.2f, 9);
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::TrainerOptions o;
  o.batch = batch;
  o.steps_per_submit = steps_per_submit;
  o.seed = 4;
  o.check_finite = check_finite;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  Run r;
  for (uint64_t e = 0; e < epochs; ++e) {
    r.losses.push_back(trainer.train_epoch(train_set).loss);
    const nn::Metrics test = trainer.evaluate(test_set);
    r.test_accuracy.push_back(test.accuracy);
    r.test_losses.push_back(test.loss);
  }
  require_no_validation_messages();
  r.weights = all_weights(model);
  return r;
}

}  // namespace

TEST_CASE("Trainer learns, and the same seeds give the same trajectory bit for bit", "[nn][trainer]") {
  const Run a = train(4, 1), b = train(4, 1);
  CHECK(a.losses == b.losses);
  CHECK(a.weights == b.weights);
  // It learns: the loss falls and the held-out accuracy ends well above chance (1/3).
  CHECK(a.losses.back() < 0.7 * a.losses.front());
  CHECK(a.test_accuracy.back() > 0.8);
}

TEST_CASE("Trainer results do not depend on the steps per submission", "[nn][trainer]") {
  const Run one = train(2, 1), many = train(2, 4), automatic = train(2, 0);
  CHECK(one.losses == many.losses);
  CHECK(one.weights == many.weights);
  CHECK(one.weights == automatic.weights);
}

TEST_CASE("Trainer's check_finite does not change training or evaluation by a bit", "[nn][trainer][nonfinite]") {
  const Run on = train(2, 4, 32, true), off = train(2, 4, 32, false);
  CHECK(on.losses == off.losses);
  CHECK(on.test_accuracy == off.test_accuracy);
  CHECK(on.test_losses == off.test_losses);
  CHECK(on.weights == off.weights);
}

TEST_CASE("Trainer evaluate reports per-layer sparsity of the activations", "[nn][trainer]") {
  Context& ctx = context();
  auto data = synthetic(ctx, 70, 12, 3, 3);
  Sequential model(ctx);
  build_mlp(model, 12, 8, 3, 0.0f, 2);
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model, SgdOptions{.lr = 0.1f});
  nn::TrainerOptions o;
  o.batch = 32;
  o.measure_sparsity = true;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  const auto m = trainer.evaluate(data);
  CHECK(m.samples == 70);
  const auto s = trainer.sparsity();
  REQUIRE(s.size() == 1);
  CHECK(s[0].layer == 2);
  CHECK(s[0].module == "ReLU()");
  CHECK(s[0].stats.rows == 70);
  CHECK(s[0].stats.features == 8);
  // Reference: the ReLU output of the whole set, recomputed by a plain eval forward.
  Tensor x(ctx, {70, 12}), y(ctx, {70, 3}), idx = Tensor::from<int32_t>(ctx, {70}, [] {
                                              std::vector<int32_t> v(70);
                                              for (int i = 0; i < 70; ++i) v[i] = i;
                                              return v;
                                            }());
  model.eval();
  CommandList cmd(ctx);
  gather_rows(cmd, data.images, idx, x, data.effective_scale(), data.shift);
  model.forward(cmd, x, y);
  cmd.run();
  const auto relu = model.activation(70, 2).to_vector();
  uint64_t zeros = 0, dead = 0;
  for (float v : relu) zeros += v == 0.0f;
  for (int c = 0; c < 8; ++c) {
    bool all = true;
    for (int r = 0; r < 70; ++r) all = all && relu[r * 8 + c] == 0.0f;
    dead += all;
  }
  CHECK(s[0].stats.zero_count == zeros);
  CHECK(s[0].stats.dead_count == dead);
  require_no_validation_messages();
}

TEST_CASE("resuming from saved model and optimizer state equals the uninterrupted run", "[nn][trainer]") {
  const Run straight = train(2, 1);
  Context& ctx = context();
  auto train_set = synthetic(ctx, 301, 24, 3, 1);
  TempDir tmp("nn_resume");
  const auto& dir = tmp.path;
  {
    Sequential model(ctx);
    build_mlp(model, 24, 16, 3, 0.2f, 9);
    nn::CrossEntropyLoss loss(ctx);
    nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
    nn::TrainerOptions o;
    o.batch = 32;
    o.steps_per_submit = 1;
    o.seed = 4;
    nn::Trainer trainer(ctx, model, loss, opt, o);
    trainer.train_epoch(train_set);
    save_safetensors(dir / "model.safetensors", model.state_dict());
    save_safetensors(dir / "optim.safetensors", opt.state_dict());
  }
  // The same seed (it also keys the dropout masks, as --seed does in the trainer), but every
  // parameter and buffer overwritten first: whatever matches must come from the files.
  Sequential model(ctx);
  build_mlp(model, 24, 16, 3, 0.2f, 9);
  {
    CommandList cmd(ctx);
    for (const auto& p : model.parameters()) init_constant(cmd, *p.value, 0.5f);
    for (const auto& b : model.buffers()) init_constant(cmd, *b.value, 0.5f);
    cmd.run();
  }
  nn::CrossEntropyLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  model.load_state_dict(load_safetensors(dir / "model.safetensors").tensors);
  opt.load_state_dict(load_safetensors(dir / "optim.safetensors").tensors);
  nn::TrainerOptions o;
  o.batch = 32;
  o.steps_per_submit = 1;
  o.seed = 4;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  trainer.set_epochs_done(1);
  const double second = trainer.train_epoch(train_set).loss;
  CHECK(second == straight.losses[1]);
  CHECK(all_weights(model) == straight.weights);
  CHECK(opt.steps() == 2 * 10);  // 301 / 32: 9 full batches and a tail, per epoch
  require_no_validation_messages();
}

TEST_CASE("Trainer refuses a dataset the model cannot take", "[nn][trainer]") {
  Context& ctx = context();
  auto data = synthetic(ctx, 33, 10, 3, 3);
  Sequential model(ctx);
  build_mlp(model, 12, 8, 3, 0.0f, 2);
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model);
  nn::TrainerOptions o;
  o.batch = 32;  // 33 = 32 + 1: a last batch of one row, which BatchNorm cannot train on
  nn::Trainer trainer(ctx, model, loss, opt, o);
  CHECK_THROWS_WITH(trainer.train_epoch(data), Catch::Contains("expects 12 input features, got 10"));
  auto data12 = synthetic(ctx, 33, 12, 3, 3);
  CHECK_THROWS_WITH(trainer.train_epoch(data12), Catch::Contains("last batch of 1 row"));
}

TEST_CASE("Sequential::backward needs a forward pass recorded for its batch size and mode", "[nn]") {
  Context& ctx = context();
  const auto& refused = require_refused;
  for (const bool single_layer : {false, true}) {
    CAPTURE(single_layer);
    Sequential model(ctx);
    if (single_layer) {
      model.emplace<nn::BatchNorm1d>(6);  // its backward reads the batch statistics of forward
    } else {
      build_mlp(model, 6, 4, 6, 0.0f, 1);
    }
    Tensor x8(ctx, {8, 6}), y8(ctx, {8, 6}), x5(ctx, {5, 6}), y5(ctx, {5, 6}), dy5(ctx, {5, 6}), dx5(ctx, {5, 6});
    Tensor no_dx;
    x8.upload(uniform(48, -1, 1, 3));
    x5.upload(uniform(30, -1, 1, 4));
    dy5.upload(uniform(30, -1, 1, 5));
    CommandList cmd(ctx);
    // Nothing recorded yet, then only another batch size.
    refused([&] { model.backward(cmd, x5, y5, dy5, no_dx); }, {"Sequential::backward", "5 rows", "forward"});
    model.forward(cmd, x8, y8);
    const std::size_t dispatches = cmd.dispatch_count();
    refused([&] { model.backward(cmd, x5, y5, dy5, dx5); }, {"5 rows", "record forward"});
    // Forward in eval mode, backward in training mode.
    model.eval();
    model.forward(cmd, x5, y5);
    model.train();
    const std::size_t after_eval = cmd.dispatch_count();
    refused([&] { model.backward(cmd, x5, y5, dy5, no_dx); }, {"5 rows", "eval mode", "training mode"});
    CHECK(cmd.dispatch_count() == after_eval);
    // Recorded in the same mode: accepted. Adding a layer drops the recorded activations.
    model.forward(cmd, x5, y5);
    CHECK_NOTHROW(model.backward(cmd, x5, y5, dy5, dx5));
    CHECK(cmd.dispatch_count() > dispatches);
    cmd.run();
    for (float v : dx5.to_vector()) CHECK(std::isfinite(v));
    model.emplace<nn::Activation>(Activation::tanh);
    CommandList again(ctx);
    refused([&] { model.backward(again, x5, y5, dy5, no_dx); }, {"5 rows", "forward"});
    CHECK(again.dispatch_count() == 0);
  }
  require_no_validation_messages();
}

TEST_CASE("DeviceDataset scales u8 pixels by 1/255 and f32 values by 1 unless a scale is set", "[nn]") {
  Context& ctx = context();
  const std::vector<uint8_t> pixels{0, 51, 255, 102, 204, 153};
  const std::vector<float> values{-2.0f, 0.5f, 3.0f, 255.0f, 1e-3f, 7.0f};
  nn::DeviceDataset u8_data, f32_data;
  u8_data.images = Tensor::from<uint8_t>(ctx, {3, 2}, pixels);
  f32_data.images = Tensor::from<float>(ctx, {3, 2}, values);
  CHECK(u8_data.effective_scale() == 1.0f / 255.0f);
  CHECK(f32_data.effective_scale() == 1.0f);
  CHECK(nn::DeviceDataset{}.effective_scale() == 1.0f / 255.0f);  // no images yet: the u8 default
  const auto gathered = [&](const nn::DeviceDataset& d) {
    Tensor index = Tensor::from<int32_t>(ctx, {3}, std::vector<int32_t>{0, 1, 2});
    Tensor x(ctx, {3, 2});
    CommandList cmd(ctx);
    gather_rows(cmd, d.images, index, x, d.effective_scale(), d.shift);
    cmd.run();
    return x.to_vector();
  };
  const auto u8_x = gathered(u8_data);
  for (std::size_t i = 0; i < pixels.size(); ++i) CHECK(u8_x[i] == float(pixels[i]) * (1.0f / 255.0f));
  CHECK(gathered(f32_data) == values);
  // An explicit scale applies to either dtype.
  f32_data.scale = 0.5f;
  f32_data.shift = 1.0f;
  CHECK(f32_data.effective_scale() == 0.5f);
  const auto f32_x = gathered(f32_data);
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(f32_x[i] == values[i] * 0.5f + 1.0f);
  u8_data.scale = 1.0f;
  const auto raw = gathered(u8_data);
  for (std::size_t i = 0; i < pixels.size(); ++i) CHECK(raw[i] == float(pixels[i]));
  require_no_validation_messages();
}

TEST_CASE("Trainer feeds an f32 dataset to the model as it is, unless a scale is set", "[nn][trainer]") {
  Context& ctx = context();
  // The same model's loss on x as given and on x / 255 differ, so the loss tells which x the
  // Trainer gathered.
  const uint64_t count = 64;
  std::vector<float> values(count * 2);
  std::vector<int32_t> labels(count);
  for (uint64_t i = 0; i < count; ++i) {
    values[2 * i] = float(i * 3);
    values[2 * i + 1] = 1.0f;
    labels[i] = values[2 * i] > 100.0f;
  }
  const auto first_loss = [&](std::optional<float> scale) {
    nn::DeviceDataset d;
    d.images = Tensor::from<float>(ctx, {count, 2}, values);
    d.labels = Tensor::from<int32_t>(ctx, {count}, labels);
    d.scale = scale;
    Sequential model(ctx);
    model.emplace<nn::Linear>(2, 2);
    CommandList init(ctx);
    model.reset_parameters(init, 7);
    init.run();
    nn::CrossEntropyLoss loss(ctx);
    nn::SGD opt(model);
    nn::TrainerOptions o;
    o.batch = 16;
    nn::Trainer trainer(ctx, model, loss, opt, o);
    return trainer.evaluate(d).loss;
  };
  CHECK(first_loss(std::nullopt) == first_loss(1.0f));
  CHECK(first_loss(std::nullopt) != first_loss(1.0f / 255.0f));
  require_no_validation_messages();
}

}  // namespace vkgrad::test
