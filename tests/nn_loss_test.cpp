// The nn losses (nn::Loss and its six losses, nn::LogSoftmax) against the double references, and
// the Trainer with each kind of target: f32 targets (regression, multi-label), class labels through
// LogSoftmax + NLLLoss, the metrics each reports, the host-side dataset checks, and the last partial
// batch (drop_last) against a CPU replay of the same SGD steps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>

#include "harness.hpp"
#include "reference/loss_ref.hpp"
#include "reference/reduce_ref.hpp"

namespace vkgrad::test {
namespace {

using nn::Sequential;

// Runs loss.forward and backward on (rows, cols) input and target tensors and returns (loss,
// dinput), outputs poisoned first.
std::pair<std::vector<float>, std::vector<float>> run_nn_loss(nn::Loss& loss, const Tensor& input, const Tensor& target,
                                                              uint64_t loss_elements) {
  Context& ctx = context();
  Tensor out(ctx, {loss_elements}), grad(ctx, input.shape());
  out.fill(poison);
  grad.fill(poison);
  CommandList cmd(ctx);
  loss.forward(cmd, input, target, out);
  loss.backward(cmd, input, target, grad);
  cmd.run();
  require_no_validation_messages();
  return {out.to_vector(), grad.to_vector()};
}

void require_close(const std::vector<float>& got, const std::vector<double>& expected, double rtol, double atol,
                   const char* what) {
  const auto m = compare(got, expected, rtol, atol);
  INFO(what << ": " << m.count << " mismatches, worst at " << m.worst_index << ": got " << m.got << " expected "
            << m.expected);
  CHECK(m.count == 0);
}

// A learnable regression set: x ~ U(-1, 1)^4, two targets y0 = sin(2 x0) + x1 x2, y1 = x3² − x0 / 2.
struct RegressionData {
  std::vector<float> x, y;
  uint64_t count;
};

RegressionData regression_data(uint64_t count, uint64_t seed) {
  RegressionData d{uniform(count * 4, -1.0f, 1.0f, seed), std::vector<float>(count * 2), count};
  for (uint64_t i = 0; i < count; ++i) {
    const float* x = &d.x[i * 4];
    d.y[i * 2] = std::sin(2 * x[0]) + x[1] * x[2];
    d.y[i * 2 + 1] = x[3] * x[3] - 0.5f * x[0];
  }
  return d;
}

nn::DeviceDataset value_dataset(const std::vector<float>& x, uint64_t features, const std::vector<float>& y,
                                uint64_t width) {
  Context& ctx = context();
  const uint64_t count = x.size() / features;
  nn::DeviceDataset d;
  d.images = Tensor::from<float>(ctx, {count, features}, x);
  d.targets = Tensor::from<float>(ctx, {count, width}, y);
  return d;
}

void build_regressor(Sequential& model, uint64_t in, uint64_t out, uint64_t seed) {
  model.emplace<nn::Linear>(in, 32);
  model.emplace<nn::Activation>(vkgrad::Activation::tanh);
  model.emplace<nn::Linear>(32, out);
  CommandList init(model.context());
  model.reset_parameters(init, seed);
  init.run();
}

// Mean squared and absolute error of `pred` against `y`, in double.
std::pair<double, double> host_errors(const std::vector<float>& pred, const std::vector<float>& y) {
  double se = 0, ae = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double d = double(pred[i]) - double(y[i]);
    se += d * d;
    ae += std::fabs(d);
  }
  return {se / double(y.size()), ae / double(y.size())};
}

double variance(const std::vector<float>& v) {
  double mean = 0, var = 0;
  for (float e : v) mean += e;
  mean /= double(v.size());
  for (float e : v) var += (e - mean) * (e - mean);
  return var / double(v.size());
}

}  // namespace

TEST_CASE("nn losses have PyTorch's names, reprs and target kinds", "[nn][loss]") {
  Context& ctx = context();
  CHECK(nn::MSELoss(ctx).to_string() == "MSELoss()");
  CHECK(nn::L1Loss(ctx, Reduction::sum).to_string() == "L1Loss(reduction='sum')");
  CHECK(nn::SmoothL1Loss(ctx).to_string() == "SmoothL1Loss()");
  CHECK(nn::SmoothL1Loss(ctx, {.beta = 0.5f}).to_string() == "SmoothL1Loss(beta=0.5)");
  CHECK(nn::BCEWithLogitsLoss(ctx, Reduction::none).to_string() == "BCEWithLogitsLoss(reduction='none')");
  CHECK(nn::CrossEntropyLoss(ctx).to_string() == "CrossEntropyLoss()");
  CHECK(nn::CrossEntropyLoss(ctx, CrossEntropyOptions{}.set_ignore_index(3).set_label_smoothing(0.1f)).to_string() ==
        "CrossEntropyLoss(ignore_index=3, label_smoothing=0.1)");
  CHECK(nn::NLLLoss(ctx).to_string() == "NLLLoss()");
  CHECK(nn::LogSoftmax(ctx).to_string() == "LogSoftmax(dim=1)");
  CHECK(nn::MSELoss(ctx).target_kind() == nn::TargetKind::values);
  CHECK(nn::BCEWithLogitsLoss(ctx).target_kind() == nn::TargetKind::values);
  CHECK(nn::NLLLoss(ctx).target_kind() == nn::TargetKind::class_indices);
  CHECK(nn::CrossEntropyLoss(ctx).target_kind() == nn::TargetKind::class_indices);
  CHECK_THROWS_WITH(nn::SmoothL1Loss(ctx, {.beta = -1.0f}), Catch::Contains("beta must be finite and >= 0"));
  CHECK_THROWS_WITH(nn::CrossEntropyLoss(ctx, CrossEntropyOptions{}.set_label_smoothing(1.0f)),
                    Catch::Contains("label_smoothing"));
}

TEST_CASE("nn element-wise losses match the double reference for every reduction and batch size", "[nn][loss]") {
  Context& ctx = context();
  struct Case {
    std::shared_ptr<nn::ElementwiseLoss> loss;
    int kind;
    double beta;
  };
  for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
    const std::vector<Case> cases = {{std::make_shared<nn::MSELoss>(ctx, r), 0, 1.0},
                                     {std::make_shared<nn::BCEWithLogitsLoss>(ctx, r), 1, 1.0},
                                     {std::make_shared<nn::L1Loss>(ctx, r), 2, 1.0},
                                     {std::make_shared<nn::SmoothL1Loss>(ctx, nn::SmoothL1Options{r, 0.5f}), 3, 0.5}};
    for (const Case& c : cases) {
      // Two batch sizes through one nn loss: each gets its own op-level loss.
      for (uint64_t rows : {7u, 33u}) {
        const uint64_t cols = 3, n = rows * cols;
        INFO(c.loss->to_string() << " rows " << rows);
        const auto x = uniform(n, -3.0f, 3.0f, rows), t = uniform(n, 0.0f, 1.0f, rows + 1);
        const auto [loss, grad] = run_nn_loss(*c.loss, Tensor::from<float>(ctx, {rows, cols}, x),
                                              Tensor::from<float>(ctx, {rows, cols}, t), r == Reduction::none ? n : 1);
        const std::vector<double> xd(x.begin(), x.end()), td(t.begin(), t.end());
        // Sums of a few dozen terms bounded by a few units, and their derivatives: float rounding
        // stays within the default tolerance.
        require_close(loss, ref::pointwise_loss_forward(xd.data(), td.data(), n, c.kind, int(r), c.beta), 1e-5, 1e-6,
                      "loss");
        std::vector<double> dx(n);
        ref::pointwise_loss_backward(xd.data(), td.data(), dx.data(), n, c.kind, int(r), 1.0, c.beta);
        require_close(grad, dx, 1e-5, 1e-6, "dinput");
      }
    }
  }
}

TEST_CASE("nn class losses: NLLLoss and CrossEntropyLoss with sum and none match the reference", "[nn][loss]") {
  Context& ctx = context();
  const uint64_t rows = 9, classes = 5;
  const auto x = uniform(rows * classes, -4.0f, 0.0f, 3);
  std::vector<int32_t> labels(rows);
  for (uint64_t i = 0; i < rows; ++i) labels[i] = int32_t(i % classes);
  labels[4] = -100;  // ignored
  const std::vector<double> xd(x.begin(), x.end());
  Tensor tx = Tensor::from<float>(ctx, {rows, classes}, x), tl = Tensor::from<int32_t>(ctx, {rows}, labels);
  for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
    INFO("reduction " << int(r));
    const uint64_t out = r == Reduction::none ? rows : 1;
    nn::NLLLoss nll(ctx, NllOptions{}.set_reduction(r));
    const auto [nll_loss, nll_grad] = run_nn_loss(nll, tx, tl, out);
    require_close(nll_loss, ref::nll_forward(xd.data(), labels.data(), rows, classes, int(r), -100), 1e-5, 1e-6, "nll");
    std::vector<double> dx(rows * classes);
    ref::nll_backward(labels.data(), dx.data(), rows, classes, int(r), -100, 1.0);
    require_close(nll_grad, dx, 1e-5, 0.0, "nll gradient");
    CHECK_NOTHROW(nll.check_targets());

    nn::CrossEntropyLoss ce(ctx, CrossEntropyOptions{}.set_reduction(r));
    const auto [ce_loss, ce_grad] = run_nn_loss(ce, tx, tl, out);
    const ref::CrossEntropyParams p{int(r), -100, 0.0};
    require_close(ce_loss, ref::cross_entropy_forward(xd.data(), labels.data(), rows, classes, p), 1e-5, 1e-6, "ce");
    ref::cross_entropy_backward(xd.data(), labels.data(), dx.data(), rows, classes, p, 1.0);
    require_close(ce_grad, dx, 1e-5, 1e-6, "ce gradient");
  }
  // A bad label is reported after the run, through the base class.
  labels[2] = 7;
  Tensor bad = Tensor::from<int32_t>(ctx, {rows}, labels);
  nn::NLLLoss nll(ctx);
  nn::Loss& base = nll;
  run_nn_loss(base, tx, bad, 1);
  CHECK_THROWS_WITH(base.check_targets(), Catch::Contains("row 2 has label 7"));
}

TEST_CASE("LogSoftmax then NLLLoss trains as CrossEntropyLoss does", "[nn][loss]") {
  Context& ctx = context();
  const uint64_t rows = 16, in = 6, classes = 4;
  const auto x = uniform(rows * in, -1.0f, 1.0f, 11);
  std::vector<int32_t> labels(rows);
  for (uint64_t i = 0; i < rows; ++i) labels[i] = int32_t((i * 7) % classes);
  Tensor tx = Tensor::from<float>(ctx, {rows, in}, x), tl = Tensor::from<int32_t>(ctx, {rows}, labels);
  // The gradients of the first Linear's weight through each path.
  const auto gradients = [&](bool nll) {
    Sequential model(ctx);
    model.emplace<nn::Linear>(in, classes);
    if (nll) model.emplace<nn::LogSoftmax>();
    CommandList init(ctx);
    model.reset_parameters(init, 5);
    init.run();
    Tensor y(ctx, {rows, classes}), dy(ctx, {rows, classes}), loss(ctx, {1}), no_dx;
    std::unique_ptr<nn::Loss> fn;
    if (nll) {
      fn = std::make_unique<nn::NLLLoss>(ctx);
    } else {
      fn = std::make_unique<nn::CrossEntropyLoss>(ctx);
    }
    CommandList cmd(ctx);
    model.forward(cmd, tx, y);
    fn->forward(cmd, y, tl, loss);
    fn->backward(cmd, y, tl, dy);
    model.backward(cmd, tx, y, dy, no_dx);
    cmd.run();
    require_no_validation_messages();
    std::vector<float> out = loss.to_vector();
    for (const auto& p : model.parameters()) {
      const auto g = p.grad->to_vector();
      out.insert(out.end(), g.begin(), g.end());
    }
    // The LogSoftmax layer's output against the double reference.
    if (nll) {
      std::vector<double> logits(rows * classes), logp(rows * classes);
      const auto lin = model.activation(rows, 0).to_vector();
      for (std::size_t i = 0; i < lin.size(); ++i) logits[i] = lin[i];
      ref::softmax_forward(logits.data(), logp.data(), rows, classes, true);
      require_close(y.to_vector(), logp, 1e-5, 1e-6, "log_softmax");
    }
    return out;
  };
  const auto via_nll = gradients(true), via_ce = gradients(false);
  REQUIRE(via_nll.size() == via_ce.size());
  // Two float paths to the same function (log_softmax then a pick, or the fused kernel): agree to
  // float rounding of values of order 1.
  for (std::size_t i = 0; i < via_nll.size(); ++i) CHECK(close(via_nll[i], via_ce[i], 1e-5, 1e-6));
}

TEST_CASE("Trainer with MSELoss learns a regression and reports MSE and MAE over every target", "[nn][trainer]") {
  Context& ctx = context();
  const auto train = regression_data(512, 1), test = regression_data(256, 2);
  auto train_set = value_dataset(train.x, 4, train.y, 2), test_set = value_dataset(test.x, 4, test.y, 2);
  Sequential model(ctx);
  build_regressor(model, 4, 2, 3);
  nn::MSELoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::TrainerOptions o;
  o.batch = 32;
  o.seed = 1;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  const nn::Metrics before = trainer.evaluate(test_set);
  nn::Metrics first, last;
  for (int e = 0; e < 40; ++e) {
    last = trainer.train_epoch(train_set);
    if (e == 0) first = last;
  }
  const nn::Metrics after = trainer.evaluate(test_set);
  require_no_validation_messages();
  // The device's totals against the host: the test predictions' errors computed here in double.
  const auto pred = model.predict(test.x, test.count);
  const auto [mse, mae] = host_errors(pred, test.y);
  CHECK(after.samples == 256);
  CHECK(close(after.mse, mse, 1e-5, 0));
  CHECK(close(after.mae, mae, 1e-5, 0));
  // MSELoss (mean) is the MSE over every element, computed by two different device paths.
  CHECK(close(after.loss, after.mse, 1e-5, 0));
  CHECK(after.accuracy == 0);  // no classes
  // It learns: the training loss falls, and the held-out MSE ends far below the targets' variance
  // (what predicting their mean would score) and far below the untrained model's.
  const double var = variance(test.y);
  INFO("test mse " << after.mse << ", untrained " << before.mse << ", target variance " << var);
  CHECK(last.loss < 0.2 * first.loss);
  CHECK(after.mse < 0.02 * var);
  CHECK(after.mse < 0.05 * before.mse);
}

TEST_CASE("Trainer with L1Loss, SmoothL1Loss and a summed MSELoss trains and reports its loss", "[nn][trainer]") {
  Context& ctx = context();
  const auto train = regression_data(256, 5), test = regression_data(128, 6);
  auto train_set = value_dataset(train.x, 4, train.y, 2), test_set = value_dataset(test.x, 4, test.y, 2);
  std::vector<std::unique_ptr<nn::Loss>> losses;
  losses.push_back(std::make_unique<nn::L1Loss>(ctx));
  losses.push_back(std::make_unique<nn::SmoothL1Loss>(ctx, nn::SmoothL1Options{.beta = 0.25f}));
  losses.push_back(std::make_unique<nn::MSELoss>(ctx, Reduction::sum));
  for (auto& loss : losses) {
    INFO(loss->to_string());
    Sequential model(ctx);
    build_regressor(model, 4, 2, 7);
    nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
    nn::TrainerOptions o;
    o.batch = 32;
    nn::Trainer trainer(ctx, model, *loss, opt, o);
    const nn::Metrics before = trainer.evaluate(test_set);
    for (int e = 0; e < 15; ++e) trainer.train_epoch(train_set);
    const nn::Metrics after = trainer.evaluate(test_set);
    require_no_validation_messages();
    const auto pred = model.predict(test.x, test.count);
    const auto [mse, mae] = host_errors(pred, test.y);
    CHECK(close(after.mse, mse, 1e-5, 0));
    CHECK(close(after.mae, mae, 1e-5, 0));
    // The loss per sample, from the host predictions: L1 (mean) is the MAE; a summed MSE is the
    // squared error per sample (2 targets each).
    if (dynamic_cast<nn::L1Loss*>(loss.get())) CHECK(close(after.loss, mae, 1e-5, 0));
    if (dynamic_cast<nn::MSELoss*>(loss.get())) CHECK(close(after.loss, 2 * mse, 1e-5, 0));
    CHECK(after.mae < 0.5 * before.mae);
  }
}

TEST_CASE("Trainer with BCEWithLogitsLoss learns multi-label targets and reports element accuracy", "[nn][trainer]") {
  Context& ctx = context();
  // Three labels per sample: x0 > 0, x1 + x2 > 0, x3 > x0.
  const auto make = [](uint64_t count, uint64_t seed) {
    RegressionData d{uniform(count * 4, -1.0f, 1.0f, seed), std::vector<float>(count * 3), count};
    for (uint64_t i = 0; i < count; ++i) {
      const float* x = &d.x[i * 4];
      d.y[i * 3] = x[0] > 0;
      d.y[i * 3 + 1] = x[1] + x[2] > 0;
      d.y[i * 3 + 2] = x[3] > x[0];
    }
    return d;
  };
  const auto train = make(512, 8), test = make(256, 9);
  auto train_set = value_dataset(train.x, 4, train.y, 3), test_set = value_dataset(test.x, 4, test.y, 3);
  Sequential model(ctx);
  build_regressor(model, 4, 3, 4);
  nn::BCEWithLogitsLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
  nn::TrainerOptions o;
  o.batch = 32;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  for (int e = 0; e < 20; ++e) trainer.train_epoch(train_set);
  const nn::Metrics m = trainer.evaluate(test_set);
  require_no_validation_messages();
  const auto logits = model.predict(test.x, test.count);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) correct += (logits[i] > 0) == (test.y[i] > 0.5f);
  CHECK(m.accuracy == double(correct) / double(logits.size()));
  CHECK(m.mse == 0);  // not a regression loss
  CHECK(m.accuracy > 0.9);
}

TEST_CASE("Trainer with LogSoftmax and NLLLoss reports class accuracy", "[nn][trainer]") {
  Context& ctx = context();
  const uint64_t count = 256;
  const auto x = uniform(count * 2, -1.0f, 1.0f, 12);
  std::vector<int32_t> labels(count);
  for (uint64_t i = 0; i < count; ++i) labels[i] = x[2 * i] > x[2 * i + 1] ? 1 : 0;
  nn::DeviceDataset data;
  data.images = Tensor::from<float>(ctx, {count, 2}, x);
  data.labels = Tensor::from<int32_t>(ctx, {count}, labels);
  Sequential model(ctx);
  model.emplace<nn::Linear>(2, 16);
  model.emplace<nn::Activation>(vkgrad::Activation::relu);
  model.emplace<nn::Linear>(16, 2);
  model.emplace<nn::LogSoftmax>();
  CommandList init(ctx);
  model.reset_parameters(init, 2);
  init.run();
  nn::NLLLoss loss(ctx);
  nn::Adam opt(model, AdamOptions{.lr = 2e-2f});
  nn::TrainerOptions o;
  o.batch = 32;
  nn::Trainer trainer(ctx, model, loss, opt, o);
  for (int e = 0; e < 15; ++e) trainer.train_epoch(data);
  const nn::Metrics m = trainer.evaluate(data);
  require_no_validation_messages();
  const auto classes = model.predict_classes(x, count);
  std::size_t correct = 0;
  for (uint64_t i = 0; i < count; ++i) correct += classes[i] == labels[i];
  CHECK(m.accuracy == double(correct) / double(count));
  CHECK(m.accuracy > 0.9);
}

TEST_CASE("check_finite stops training and evaluation with every loss", "[nn][trainer][nonfinite]") {
  Context& ctx = context();
  const auto d = regression_data(40, 14);
  std::vector<int32_t> labels(40);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i % 2);
  std::vector<std::unique_ptr<nn::Loss>> losses;
  losses.push_back(std::make_unique<nn::MSELoss>(ctx));
  losses.push_back(std::make_unique<nn::L1Loss>(ctx, Reduction::sum));
  losses.push_back(std::make_unique<nn::SmoothL1Loss>(ctx));
  losses.push_back(std::make_unique<nn::BCEWithLogitsLoss>(ctx));
  losses.push_back(std::make_unique<nn::NLLLoss>(ctx));
  for (auto& loss : losses) {
    INFO(loss->to_string());
    nn::DeviceDataset data = value_dataset(d.x, 4, d.y, 2);
    data.labels = Tensor::from<int32_t>(ctx, {40}, labels);
    data.shift = std::numeric_limits<float>::quiet_NaN();  // every input becomes NaN
    Sequential model(ctx);
    build_regressor(model, 4, 2, 1);
    if (loss->target_kind() == nn::TargetKind::class_indices) model.emplace<nn::LogSoftmax>();
    nn::SGD opt(model);
    nn::TrainerOptions o;
    o.batch = 16;
    nn::Trainer trainer(ctx, model, *loss, opt, o);
    try {
      trainer.train_epoch(data);
      FAIL("no NonFiniteError");
    } catch (const NonFiniteError& e) {
      CHECK(e.training());
      CHECK(e.batch() == 1);
      CHECK(e.module() == NonFiniteError::input_batch);
    }
    CHECK_THROWS_AS(trainer.evaluate(data), NonFiniteError);
    require_no_validation_messages();
  }
}

TEST_CASE("Trainer's loss per sample is the same with reduction mean and sum", "[nn][trainer]") {
  Context& ctx = context();
  const uint64_t count = 70;  // batches of 32, 32 and 6
  const auto x = uniform(count * 3, -1.0f, 1.0f, 31);
  std::vector<int32_t> labels(count);
  for (uint64_t i = 0; i < count; ++i) labels[i] = int32_t(i % 4);
  nn::DeviceDataset data;
  data.images = Tensor::from<float>(ctx, {count, 3}, x);
  data.labels = Tensor::from<int32_t>(ctx, {count}, labels);
  Sequential model(ctx);
  build_regressor(model, 3, 4, 8);
  nn::SGD opt(model);
  nn::TrainerOptions o;
  o.batch = 32;
  nn::CrossEntropyLoss mean(ctx), sum(ctx, CrossEntropyOptions{}.set_reduction(Reduction::sum));
  nn::Trainer by_mean(ctx, model, mean, opt, o), by_sum(ctx, model, sum, opt, o);
  const nn::Metrics a = by_mean.evaluate(data), b = by_sum.evaluate(data);
  require_no_validation_messages();
  // Both are the sum of the 70 row losses / 70, accumulated in a different order.
  CHECK(a.samples == b.samples);
  CHECK(close(b.loss, a.loss, 1e-5, 0));
  CHECK(a.accuracy == b.accuracy);
}

TEST_CASE("Trainer checks targets and labels against its loss before any work", "[nn][trainer]") {
  Context& ctx = context();
  const auto d = regression_data(40, 13);
  Sequential model(ctx);
  build_regressor(model, 4, 2, 1);
  const auto weights = [&] {
    std::vector<float> w;
    for (const auto& p : model.parameters()) {
      const auto v = p.value->to_vector();
      w.insert(w.end(), v.begin(), v.end());
    }
    return w;
  };
  const auto initial = weights();
  nn::MSELoss mse(ctx);
  nn::SGD opt(model);
  nn::TrainerOptions o;
  o.batch = 16;
  nn::Trainer trainer(ctx, model, mse, opt, o);
  nn::DeviceDataset data = value_dataset(d.x, 4, d.y, 2);
  // The same inputs with other targets (or labels).
  const auto with_targets = [&](Tensor targets) {
    nn::DeviceDataset w;
    w.images = Tensor::from<float>(ctx, {40, 4}, d.x);
    w.targets = std::move(targets);
    return w;
  };
  nn::DeviceDataset labels_only = with_targets(Tensor());
  labels_only.labels = Tensor(ctx, {40}, DType::i32);
  require_refused([&] { trainer.train_epoch(labels_only); }, {"MSELoss() needs f32 targets", "only class labels"});
  require_refused(
      [&] {
        trainer.evaluate(with_targets(Tensor(ctx, {40, 2}, DType::i32)));
      },
      {"targets must be f32, got i32"});
  require_refused(
      [&] {
        trainer.train_epoch(with_targets(Tensor(ctx, {39, 2})));
      },
      {"must be (count, outputs) with count 40"});
  require_refused([&] { trainer.train_epoch(with_targets(Tensor(ctx, {80}))); },
                  {"must be (count, outputs)", "(count, 1)"});
  require_refused(
      [&] {
        trainer.train_epoch(with_targets(Tensor(ctx, {40, 3})));
      },
      {"3 values per sample but the model has 2 outputs"});
  auto bad_y = d.y;
  bad_y[2 * 17 + 1] = std::numeric_limits<float>::quiet_NaN();
  require_refused([&] { trainer.train_epoch(value_dataset(d.x, 4, bad_y, 2)); },
                  {"target of sample 17, column 1 is nan"});
  CHECK(weights() == initial);
  CHECK(opt.steps() == 0);

  nn::CrossEntropyLoss ce(ctx);
  nn::Trainer classifier(ctx, model, ce, opt, o);
  require_refused([&] { classifier.train_epoch(data); }, {"CrossEntropyLoss() needs class labels", "only f32 targets"});
  nn::MSELoss none(ctx, Reduction::none);
  require_refused([&] { nn::Trainer t(ctx, model, none, opt, o); }, {"reduction='none'", "scalar"});
  nn::TrainerOptions dl = o;
  dl.drop_last = true;
  dl.batch = 64;
  nn::Trainer too_big(ctx, model, mse, opt, dl);
  require_refused([&] { too_big.train_epoch(data); }, {"drop_last with 40 samples in batches of 64"});
  CHECK(weights() == initial);
  require_no_validation_messages();
}

TEST_CASE("Trainer's last partial batch is a step of its own rows, and drop_last skips it", "[nn][trainer]") {
  Context& ctx = context();
  // Linear(3 -> 2) + MSELoss + plain SGD over 10 samples in batches of 4: steps of 4, 4 and 2 rows
  // (drop_last: 4 and 4), replayed here in double.
  const uint64_t count = 10, in = 3, out = 2, batch = 4, seed = 6;
  const float lr = 0.1f;
  const auto x = uniform(count * in, -1.0f, 1.0f, 21), y = uniform(count * out, -1.0f, 1.0f, 22);
  for (bool drop_last : {false, true}) {
    INFO("drop_last " << drop_last);
    Sequential model(ctx);
    auto& linear = model.emplace<nn::Linear>(in, out);
    CommandList init(ctx);
    model.reset_parameters(init, 3);
    init.run();
    const auto w0 = linear.weight().to_vector(), b0 = linear.bias().to_vector();
    nn::MSELoss loss(ctx);
    nn::SGD opt(model, SgdOptions{.lr = lr});
    nn::TrainerOptions o;
    o.batch = batch;
    o.seed = seed;
    o.steps_per_submit = 1;
    o.drop_last = drop_last;
    nn::Trainer trainer(ctx, model, loss, opt, o);
    const nn::Metrics m = trainer.train_epoch(value_dataset(x, in, y, out));
    require_no_validation_messages();
    const uint64_t used = drop_last ? 8 : 10;
    CHECK(opt.steps() == (drop_last ? 2 : 3));
    CHECK(m.samples == used);

    // The replay: the epoch's order is train_epoch's shuffle of (seed, epoch 0), documented as a
    // function of those only; each step's loss is the mean over its own rows and outputs.
    std::vector<int32_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 0 + 1);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<double> w(w0.begin(), w0.end()), b(b0.begin(), b0.end());
    double weighted_loss = 0;
    for (uint64_t start = 0; start < used; start += batch) {
      const uint64_t rows = std::min(batch, used - start);
      std::vector<double> dw(out * in, 0.0), db(out, 0.0);
      double step_loss = 0;
      const double scale = 1.0 / double(rows * out);
      for (uint64_t r = 0; r < rows; ++r) {
        const int32_t s = order[start + r];
        for (uint64_t j = 0; j < out; ++j) {
          double pred = b[j];
          for (uint64_t k = 0; k < in; ++k) pred += w[j * in + k] * x[s * in + k];
          const double d = pred - y[s * out + j];
          step_loss += d * d * scale;
          db[j] += 2 * d * scale;
          for (uint64_t k = 0; k < in; ++k) dw[j * in + k] += 2 * d * scale * x[s * in + k];
        }
      }
      weighted_loss += step_loss * double(rows);
      for (std::size_t i = 0; i < w.size(); ++i) w[i] -= double(lr) * dw[i];
      for (std::size_t i = 0; i < b.size(); ++i) b[i] -= double(lr) * db[i];
    }
    // A few float steps of values of order 1: within float rounding of the double replay.
    require_close(linear.weight().to_vector(), w, 1e-5, 1e-6, "weight");
    require_close(linear.bias().to_vector(), b, 1e-5, 1e-6, "bias");
    // The epoch's loss weights each step's mean by its rows.
    CHECK(close(m.loss, weighted_loss / double(used), 1e-5, 1e-7));
  }
}

}  // namespace vkgrad::test
