// nn::SyncBatchNorm on N = 2, 3 and 4 replicas simulated by threads in this process
// (thread_replicas.hpp), each holding its slice of a batch, against BatchNorm1d on the whole batch:
// outputs, running statistics, dx and the summed weight / bias gradients; a small model trained on
// 2 replicas with averaged gradients against one model on the full batch; the layer's repr,
// state_dict, eval mode, misuse and convert_sync_batchnorm.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <limits>
#include <numeric>

#include "batchnorm_checks.hpp"
#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/batchnorm_ref.hpp"
#include "sync_batchnorm_training.hpp"
#include "thread_replicas.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::test {
namespace sync_bn_module {

using namespace bn_checks;

// got within 1e-6 + 1e-5·scale[i] of expected (NaN meets NaN, ±inf the same inf).
void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& expected,
                 const std::vector<double>& scale) {
  std::vector<double> allowed(scale.size());
  for (std::size_t i = 0; i < scale.size(); ++i) allowed[i] = 1e-6 + 1e-5 * scale[i];
  check_within(what, got, doubles(expected), allowed);
}

// What one layer wrote in two steps (forward, then forward and backward).
struct LayerResult {
  std::vector<float> y1, y2, dx, dweight, dbias, running_mean, running_var;
};

// Loads gamma, beta and the running statistics into a BatchNorm1d or SyncBatchNorm.
void load_layer(nn::BatchNorm1d& bn, const std::vector<float>& gamma, const std::vector<float>& beta,
                const std::vector<float>& rm, const std::vector<float>& rv) {
  auto params = bn.parameters();
  if (!params.empty()) {
    params[0].value->upload(std::span<const float>(gamma));
    params[1].value->upload(std::span<const float>(beta));
  }
  auto buffers = bn.buffers();
  buffers[0].value->upload(std::span<const float>(rm));
  buffers[1].value->upload(std::span<const float>(rv));
}

// Two steps of `layer` on x1, then x2 with dy, rows `rows` of the C features; outputs poisoned.
LayerResult run_layer(Context& ctx, nn::BatchNorm1d& layer, std::size_t rows, std::size_t C,
                      const std::vector<float>& x1, const std::vector<float>& x2, const std::vector<float>& dy) {
  LayerResult out;
  Tensor tx1 = Tensor::from(ctx, {rows, C}, x1), tx2 = Tensor::from(ctx, {rows, C}, x2);
  Tensor tdy = Tensor::from(ctx, {rows, C}, dy), ty1(ctx, {rows, C}), ty2(ctx, {rows, C}), tdx(ctx, {rows, C});
  for (Tensor* t : {&ty1, &ty2, &tdx}) t->fill(poison);
  for (auto& p : layer.parameters()) p.grad->fill(poison);
  CommandList first(ctx);
  layer.forward(first, tx1, ty1);
  first.run();
  CommandList second(ctx);
  layer.forward(second, tx2, ty2);
  layer.backward(second, tx2, ty2, tdy, tdx);
  second.run();
  out.y1 = ty1.to_vector();
  out.y2 = ty2.to_vector();
  out.dx = tdx.to_vector();
  auto params = layer.parameters();
  if (!params.empty()) {
    out.dweight = params[0].grad->to_vector();
    out.dbias = params[1].grad->to_vector();
  }
  out.running_mean = layer.buffers()[0].value->to_vector();
  out.running_var = layer.buffers()[1].value->to_vector();
  return out;
}

enum class Input { plain, large_offset, non_finite };

std::vector<float> layer_input(std::size_t N, std::size_t C, Input kind, uint64_t seed) {
  auto x = uniform(N * C, -3.0f, 3.0f, seed);
  if (kind == Input::large_offset) {
    x = uniform(N * C, -0.5f, 0.5f, seed);
    for (std::size_t i = 0; i < N * C; ++i) x[i] += (i % C) % 2 ? -1e4f : 1e4f;
  }
  if (kind == Input::non_finite && C >= 4) {
    x[(N - 1) * C + 1] = std::numeric_limits<float>::quiet_NaN();
    x[0 * C + 2] = std::numeric_limits<float>::infinity();
    x[0 * C + 3] = std::numeric_limits<float>::infinity();
    x[(N - 1) * C + 3] = -std::numeric_limits<float>::infinity();
  }
  return x;
}

// SyncBatchNorm on replicas holding `splits` rows each against BatchNorm1d on all of them.
void check_replicas(std::size_t C, const std::vector<std::size_t>& splits, Input kind, bool affine, uint64_t seed) {
  Context& ctx = context();
  const std::size_t N = std::accumulate(splits.begin(), splits.end(), std::size_t(0));
  const int R = static_cast<int>(splits.size());
  INFO("C " << C << ", splits " << ::Catch::Detail::stringify(splits) << ", kind " << int(kind) << ", affine "
            << affine);
  const auto options = BatchNormOptions{}.set_affine(affine).set_momentum(0.3f);
  const auto x1 = layer_input(N, C, kind, seed), x2 = layer_input(N, C, kind, seed + 1);
  const auto dy = uniform(N * C, -1.0f, 1.0f, seed + 2);
  const auto gamma = uniform(C, 0.5f, 2.0f, seed + 3), beta = uniform(C, -1.0f, 1.0f, seed + 4);
  const auto rm = uniform(C, -1.0f, 1.0f, seed + 5), rv = uniform(C, 0.5f, 2.0f, seed + 6);

  nn::BatchNorm1d full(ctx, C, options);
  load_layer(full, gamma, beta, rm, rv);
  const LayerResult expected = run_layer(ctx, full, N, C, x1, x2, dy);

  ThreadReplicas replicas(R);
  std::vector<LayerResult> got(splits.size());
  std::vector<std::size_t> first_row(splits.size(), 0);
  for (std::size_t r = 1; r < splits.size(); ++r) first_row[r] = first_row[r - 1] + splits[r - 1];
  replicas.run([&](int rank, nn::ReplicaGroup& group) {
    const auto r = static_cast<std::size_t>(rank);
    const std::size_t begin = first_row[r], end = begin + splits[r];
    nn::SyncBatchNorm layer(ctx, C, options);
    load_layer(layer, gamma, beta, rm, rv);
    layer.set_replica_rows({&group, begin, N});
    got[r] = run_layer(ctx, layer, splits[r], C, rows_of(x1, C, begin, end), rows_of(x2, C, begin, end),
                       rows_of(dy, C, begin, end));
  });
  require_no_validation_messages();
  // Two host steps per training step (statistics, backward sums): 3 collectives in all.
  CHECK(replicas.rounds() == 3);

  // Tolerances relative to the terms each value is made of (BatchNorm1d's float32 result differs
  // from SyncBatchNorm's by reassociation only: sums split into parts, statistics combined in
  // double); the terms come from the double reference of step 2.
  std::vector<double> y_mean(C), y_invstd(C), var(C), yref(N * C), rm_d = doubles(rm), rv_d = doubles(rv);
  const auto x2d = doubles(x2), dyd = doubles(dy), gd = doubles(gamma), bd = doubles(beta);
  ref::batchnorm_forward_train(x2d.data(), N, C, affine ? gd.data() : nullptr, affine ? bd.data() : nullptr,
                               options.eps, yref.data(), y_mean.data(), y_invstd.data(), var.data());
  std::vector<double> term_y(N * C), term_dx(N * C), abs_dy(C, 0.0), abs_dyx(C, 0.0), abs_x(C, 0.0);
  for (std::size_t i = 0; i < N * C; ++i) {
    const std::size_t c = i % C;
    abs_dy[c] += std::fabs(dyd[i]);
    abs_dyx[c] += std::fabs(dyd[i] * (x2d[i] - y_mean[c]) * y_invstd[c]);
    abs_x[c] += std::max(std::fabs(x1[i]), std::fabs(x2[i])) / double(N);
  }
  for (std::size_t i = 0; i < N * C; ++i) {
    const std::size_t c = i % C;
    const double g = affine ? gd[c] : 1.0, xhat = std::fabs((x2d[i] - y_mean[c]) * y_invstd[c]);
    term_y[i] = xhat * std::fabs(g) + (affine ? std::fabs(bd[c]) : 0.0);
    term_dx[i] = std::fabs(g) * y_invstd[c] * (std::fabs(dyd[i]) + (abs_dy[c] + xhat * abs_dyx[c]) / double(N));
  }
  // Step 1's y: bounded like step 2's but from x1 (a normalised value is at most sqrt(N) in size).
  std::vector<double> term_y1(N * C);
  for (std::size_t i = 0; i < N * C; ++i) {
    term_y1[i] = std::sqrt(double(N)) * (affine ? std::fabs(gd[i % C]) : 1.0) + (affine ? std::fabs(bd[i % C]) : 0.0);
  }
  std::vector<double> running_scale(C);
  for (std::size_t c = 0; c < C; ++c) running_scale[c] = abs_x[c] + std::fabs(rm_d[c]) + std::fabs(rv_d[c]) + var[c];

  std::vector<float> y1, y2, dx, dweight(C, 0.0f), dbias(C, 0.0f);
  for (std::size_t r = 0; r < splits.size(); ++r) {
    y1.insert(y1.end(), got[r].y1.begin(), got[r].y1.end());
    y2.insert(y2.end(), got[r].y2.begin(), got[r].y2.end());
    dx.insert(dx.end(), got[r].dx.begin(), got[r].dx.end());
    for (std::size_t c = 0; c < C && affine; ++c) dweight[c] += got[r].dweight[c], dbias[c] += got[r].dbias[c];
    // Every replica combined the same statistics: identical running statistics, bit for bit.
    CHECK(std::memcmp(got[r].running_mean.data(), got[0].running_mean.data(), C * sizeof(float)) == 0);
    CHECK(std::memcmp(got[r].running_var.data(), got[0].running_var.data(), C * sizeof(float)) == 0);
  }
  check_close("y (step 1)", y1, expected.y1, term_y1);
  check_close("y (step 2)", y2, expected.y2, term_y);
  check_close("running_mean", got[0].running_mean, expected.running_mean, running_scale);
  check_close("running_var", got[0].running_var, expected.running_var, running_scale);
  // The gradients: BatchNorm1d's backward takes x̂ from its saved float mean, which for x = ±1e4 + small
  // noise is off by up to half an ulp of 1e4 (5e-4, ~1e-3 of the deviations); SyncBatchNorm keeps the
  // mean as mean_hi + mean_lo. There the double reference is what both are meant to compute, and
  // SyncBatchNorm is checked against it (BatchNorm1d's own tests take its saved mean as given).
  LayerResult gradients = expected;
  if (kind == Input::large_offset) {
    std::vector<double> rdx(N * C), rdg(C), rdb(C);
    ref::batchnorm_backward(x2d.data(), dyd.data(), N, C, y_mean.data(), y_invstd.data(), affine ? gd.data() : nullptr,
                            rdx.data(), rdg.data(), rdb.data());
    gradients.dx.assign(rdx.begin(), rdx.end());
    gradients.dweight.assign(rdg.begin(), rdg.end());
    gradients.dbias.assign(rdb.begin(), rdb.end());
  }
  check_close("dx", dx, gradients.dx, term_dx);
  if (affine) {
    check_close("dweight summed over the replicas", dweight, gradients.dweight, abs_dyx);
    check_close("dbias summed over the replicas", dbias, gradients.dbias, abs_dy);
  }
}

}  // namespace sync_bn_module

using namespace sync_bn_module;

TEST_CASE("SyncBatchNorm on 2, 3 and 4 thread replicas matches BatchNorm1d on the whole batch",
          "[batchnorm][syncbn][nn]") {
  for_each_reduction_layout([&] {
    check_replicas(7, {3, 4}, Input::plain, true, 10);       // uneven slices
    check_replicas(1, {1, 1}, Input::plain, true, 20);       // one row each, one feature
    check_replicas(257, {1, 6, 2}, Input::plain, true, 30);  // a replica with one row
    check_replicas(7, {5, 5, 5, 5}, Input::plain, false, 40);
    check_replicas(257, {1025, 1024, 1027, 1026}, Input::plain, true, 50);  // 1,053,700 elements
  });
}

TEST_CASE("SyncBatchNorm on thread replicas with extreme inputs", "[batchnorm][syncbn][nn]") {
  for_each_reduction_layout([&] {
    check_replicas(7, {3, 4}, Input::large_offset, true, 100);
    check_replicas(7, {2, 3, 2}, Input::non_finite, true, 110);
  });
}

namespace sync_bn_module {

using namespace sync_bn_training;

void check_training_matches(bool adam) {
  Context& ctx = context();
  const int steps = 10, R = 2;
  auto reference = small_model(ctx, false);
  const auto expected = train(ctx, *reference, adam, 0, kBatch, steps, {});

  ThreadReplicas replicas(R);
  std::vector<std::vector<std::pair<std::string, std::vector<float>>>> got(R);
  replicas.run([&](int rank, nn::ReplicaGroup& group) {
    const std::size_t rows = kBatch / R, first = rows * static_cast<std::size_t>(rank);
    auto model = small_model(ctx, true);
    model->set_replica_rows({&group, first, kBatch});
    // DDP's averaging: grad = (Σ over replicas of grad) / N, on the host.
    const auto average = [&] {
      for (auto& p : model->parameters()) {
        auto g = p.grad->to_vector();
        group.allreduce_sum(g);
        for (float& v : g) v /= float(R);
        p.grad->upload(std::span<const float>(g));
      }
    };
    got[static_cast<std::size_t>(rank)] = train(ctx, *model, adam, first, rows, steps, average);
  });
  require_no_validation_messages();
  REQUIRE(got[0].size() == expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    INFO(expected[k].first);
    CHECK(got[0][k].first == expected[k].first);
    // Both replicas hold the same bits: same combined statistics, same averaged gradients.
    CHECK(got[1][k].second == got[0][k].second);
    const auto& e = expected[k].second;
    std::vector<double> scale(e.begin(), e.end());
    for (double& v : scale) v = std::fabs(v);
    check_close("after 10 steps", got[0][k].second, e, scale);
  }
}

// Whether two state_dicts hold the same names, dtypes, shapes and bytes.
bool same_state(const std::vector<std::pair<std::string, HostTensor>>& a,
                const std::vector<std::pair<std::string, HostTensor>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.dtype != b[i].second.dtype || a[i].second.shape != b[i].second.shape ||
        a[i].second.bytes != b[i].second.bytes)
      return false;
  }
  return true;
}

// Linear, BatchNorm1d, Residual(Sequential(Linear, BatchNorm1d without affine)),
// Residual(BatchNorm1d), SyncBatchNorm: BatchNorm1d layers at every nesting convert_sync_batchnorm
// walks into, and one that is converted already.
void mixed_batchnorm_model(nn::Sequential& model) {
  Context& ctx = model.context();
  model.emplace<nn::Linear>(6, 8);
  model.emplace<nn::BatchNorm1d>(8, BatchNormOptions{}.set_momentum(0.2f).set_eps(1e-3f));
  auto inner = std::make_unique<nn::Sequential>(ctx);
  inner->emplace<nn::Linear>(8, 8);
  inner->emplace<nn::BatchNorm1d>(8, BatchNormOptions{}.set_affine(false));
  model.add(std::make_unique<nn::Residual>(ctx, std::move(inner)));
  model.add(std::make_unique<nn::Residual>(ctx, std::make_unique<nn::BatchNorm1d>(ctx, 8)));
  model.emplace<nn::SyncBatchNorm>(8);
}

// A group whose collectives fail the test: eval mode and lone replicas must not communicate.
struct SilentGroup : nn::ReplicaGroup {
  int size_;
  explicit SilentGroup(int size) : size_(size) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  void allreduce_sum(std::span<float>) override { throw std::logic_error("unexpected allreduce"); }
  std::vector<float> allgather(std::span<const float>) override { throw std::logic_error("unexpected allgather"); }
  void broadcast(std::span<uint8_t>, int) override { throw std::logic_error("unexpected broadcast"); }
};

}  // namespace sync_bn_module

TEST_CASE("a model with SyncBatchNorm on 2 thread replicas trains as one model on the full batch",
          "[batchnorm][syncbn][nn]") {
  SECTION("SGD with momentum") { check_training_matches(false); }
  SECTION("Adam") { check_training_matches(true); }
}

TEST_CASE("SyncBatchNorm: repr, state_dict, eval mode and a group of one", "[batchnorm][syncbn][nn]") {
  Context& ctx = context();
  nn::SyncBatchNorm layer(ctx, 512);
  CHECK(layer.to_string() == "SyncBatchNorm(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(nn::SyncBatchNorm(ctx, 3, BatchNormOptions{}.set_affine(false).set_momentum(0.2f)).to_string() ==
        "SyncBatchNorm(3, eps=1e-05, momentum=0.2, affine=False, track_running_stats=True)");

  // The same state_dict keys as BatchNorm1d: each loads the other's.
  auto sync_model = small_model(ctx, true), plain_model = small_model(ctx, false);
  const auto sync_state = sync_model->state_dict(), plain_state = plain_model->state_dict();
  REQUIRE(sync_state.size() == plain_state.size());
  for (std::size_t k = 0; k < sync_state.size(); ++k) CHECK(sync_state[k].first == plain_state[k].first);
  CHECK(std::find_if(sync_state.begin(), sync_state.end(),
                     [](const auto& e) { return e.first == "1.num_batches_tracked"; }) != sync_state.end());
  auto changed = plain_state;
  for (auto& [name, t] : changed) {
    if (name == "1.running_mean") t = HostTensor::from_floats({kHidden}, uniform(kHidden, -1.0f, 1.0f, 3));
  }
  sync_model->load_state_dict(changed);
  plain_model->load_state_dict(sync_model->state_dict());
  CHECK(same_state(plain_model->state_dict(), changed));

  // Eval mode and a group of one never communicate, and record exactly BatchNorm1d's pass.
  const std::size_t N = 9, C = 16;
  const auto x = uniform(N * C, -3.0f, 3.0f, 4);
  for (const bool training : {false, true}) {
    INFO("training " << training);
    SilentGroup one(1), two(2);
    for (nn::ReplicaGroup* group : {static_cast<nn::ReplicaGroup*>(&one), static_cast<nn::ReplicaGroup*>(&two)}) {
      if (training && group == &two) continue;  // a group of two communicates in training
      nn::SyncBatchNorm sync(ctx, C);
      nn::BatchNorm1d plain(ctx, C);
      sync.set_replica_rows({group, 0, N});
      sync.set_training(training);
      plain.set_training(training);
      Tensor tx = Tensor::from(ctx, {N, C}, x), ys(ctx, {N, C}), yp(ctx, {N, C});
      CommandList cmd(ctx);
      sync.forward(cmd, tx, ys);
      plain.forward(cmd, tx, yp);
      CHECK(cmd.host_step_count() == 0);
      cmd.run();
      CHECK(ys.to_vector() == yp.to_vector());
      CHECK(sync.buffers()[1].value->to_vector() == plain.buffers()[1].value->to_vector());
    }
  }
  require_no_validation_messages();
}

TEST_CASE("SyncBatchNorm refuses misuse", "[batchnorm][syncbn][nn]") {
  Context& ctx = context();
  SilentGroup two(2);
  nn::SyncBatchNorm layer(ctx, 4);
  Tensor x(ctx, {1, 4}), y(ctx, {1, 4}), x3(ctx, {3, 4}), y3(ctx, {3, 4}), dx(ctx, {3, 4});
  CommandList cmd(ctx);
  layer.set_replica_rows({&two, 0, 1});  // a global batch of one row
  require_refused([&] { layer.forward(cmd, x, y); }, {"SyncBatchNorm", "more than 1 value per channel"});
  layer.set_replica_rows({&two, 0, 2});  // one row here, two in all: fine to record
  layer.forward(cmd, x, y);
  CHECK(cmd.host_step_count() == 1);
  require_refused([&] { layer.forward(cmd, x3, y3); }, {"SyncBatchNorm", "3 rows", "only 2"});
  Tensor flat(ctx, {4});
  require_refused([&] { layer.forward(cmd, flat, flat); }, {"SyncBatchNorm", "(rows, features)", "[4]"});
  Tensor x5(ctx, {3, 5}), y5(ctx, {3, 5});
  require_refused([&] { layer.forward(cmd, x5, y5); }, {"4 features"});
  layer.set_replica_rows({});  // the replicas changed between forward and backward
  require_refused([&] { layer.backward(cmd, x, y, y, dx); }, {"replicas changed"});
  layer.set_training(false);
  require_refused([&] { layer.backward(cmd, x3, y3, y3, dx); }, {"train()"});

  // Rows that do not add up to the global batch are reported by the host step, on every replica.
  ThreadReplicas replicas(2);
  std::vector<std::string> errors(2);
  replicas.run([&](int rank, nn::ReplicaGroup& group) {
    nn::SyncBatchNorm l(ctx, 4);
    l.set_replica_rows({&group, 0, 5});  // 3 + 3 rows, said to be 5
    Tensor tx = Tensor::from(ctx, {3, 4}, uniform(12, -1.0f, 1.0f, 1)), ty(ctx, {3, 4});
    CommandList c(ctx);
    l.forward(c, tx, ty);
    try {
      c.run();
    } catch (const InvalidArgument& e) {
      errors[static_cast<std::size_t>(rank)] = e.what();
    }
  });
  for (const auto& e : errors) CHECK_THAT(e, Catch::Contains("add up to 6") && Catch::Contains("5 global rows"));
}

TEST_CASE("convert_sync_batchnorm replaces every BatchNorm1d with its state", "[batchnorm][syncbn][nn]") {
  Context& ctx = context();
  nn::Sequential model(ctx);
  mixed_batchnorm_model(model);
  CommandList init(ctx);
  model.reset_parameters(init, 5);
  init.run();
  // Non-default state: random weights and running statistics, one training step counted.
  for (auto& p : model.parameters()) p.value->upload(std::span<const float>(uniform(p.value->numel(), -1, 1, 9)));
  for (auto& b : model.buffers()) b.value->upload(std::span<const float>(uniform(b.value->numel(), 0.5f, 2, 8)));
  model.step_counter().upload(std::span<const int32_t>(std::vector<int32_t>{3}));
  model.eval();
  const auto before = model.state_dict();
  const std::string repr_before = model[1].to_string();

  CHECK(nn::convert_sync_batchnorm(model) == 3);
  CHECK(nn::convert_sync_batchnorm(model) == 0);  // nothing left to convert
  CHECK(same_state(model.state_dict(), before));
  CHECK(dynamic_cast<nn::SyncBatchNorm*>(&model[1]) != nullptr);
  CHECK(repr_before == "BatchNorm1d(8, eps=0.001, momentum=0.2, affine=True, track_running_stats=True)");
  CHECK(model[1].to_string() == "SyncBatchNorm(8, eps=0.001, momentum=0.2, affine=True, track_running_stats=True)");
  CHECK_FALSE(model[1].training());  // the mode is kept
  auto& res = dynamic_cast<nn::Residual&>(model[2]);
  CHECK(dynamic_cast<nn::SyncBatchNorm*>(&dynamic_cast<nn::Sequential&>(res.fn())[1]) != nullptr);
  CHECK(dynamic_cast<nn::SyncBatchNorm*>(&dynamic_cast<nn::Residual&>(model[3]).fn()) != nullptr);
  CHECK(dynamic_cast<nn::Residual&>(model[3]).fn().to_string() ==
        "SyncBatchNorm(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");

  // The converted model computes what the original did (alone: SyncBatchNorm is BatchNorm1d).
  const auto x = uniform(10 * 6, -2.0f, 2.0f, 11);
  const auto converted = model.predict(x, 10);
  nn::Sequential original(ctx);
  mixed_batchnorm_model(original);
  original.load_state_dict(before);
  CHECK(original.predict(x, 10) == converted);
  require_no_validation_messages();
}

}  // namespace vkgrad::test
