// Cross-entropy (forward and backward, every reduction, label smoothing, ignore_index) against the
// double reference (tests/reference/loss_ref.cpp), plus device-side label validation.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <vkgrad/loss.hpp>

#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/loss_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float inf = std::numeric_limits<float>::infinity();

struct CeCase {
  std::size_t N, C;
  Reduction reduction = Reduction::mean;
  float smoothing = 0;
  int32_t ignore_index = -100;
  float dloss = 1;
};

std::vector<int32_t> make_labels(std::size_t N, std::size_t C, int32_t ignore_index, uint64_t seed) {
  const auto u = uniform(N, 0.0f, float(C), seed);
  std::vector<int32_t> labels(N);
  for (std::size_t i = 0; i < N; ++i) {
    labels[i] = std::min<int32_t>(int32_t(u[i]), int32_t(C) - 1);
    if (N > 1 && i % 5 == 4) labels[i] = ignore_index;  // some ignored rows (never all of them)
  }
  return labels;
}

void check_cross_entropy(const CeCase& k, uint64_t seed) {
  Context& ctx = context();
  const std::size_t N = k.N, C = k.C, n = N * C;
  auto x = uniform(n, -8.0f, 8.0f, seed);
  auto labels = make_labels(N, C, k.ignore_index, seed + 1);
  if (N >= 3) {
    const auto big = uniform(C, -1e4f, 1e4f, seed + 2);  // row 0: logits of ±1e4
    std::copy(big.begin(), big.end(), x.begin());
    // row 1: -inf logits away from the label (with smoothing they would make the loss inf)
    if (k.smoothing == 0 && C > 1) {
      for (std::size_t c = 0; c < C; c += 2)
        if (int32_t(c) != labels[1]) x[C + c] = -inf;
    }
  }
  const ref::CrossEntropyParams p{int(k.reduction), k.ignore_index, k.smoothing};
  std::ostringstream where;
  where << "cross_entropy (" << N << ", " << C << ") reduction " << p.reduction << " eps " << k.smoothing
        << " ignore_index " << k.ignore_index;
  INFO(where.str());

  CrossEntropyLoss loss_fn(ctx, N,
                           CrossEntropyOptions{}
                               .set_reduction(k.reduction)
                               .set_ignore_index(k.ignore_index)
                               .set_label_smoothing(k.smoothing));
  Tensor tx = Tensor::from(ctx, {N, C}, x), tl = Tensor::from<int32_t>(ctx, {N}, labels);
  Tensor tloss(ctx, {k.reduction == Reduction::none ? N : 1}), tdx(ctx, {N, C});
  tloss.fill(poison);
  tdx.fill(poison);
  CommandList cmd(ctx);
  loss_fn.forward(cmd, tx, tl, tloss);
  loss_fn.backward(cmd, tx, tl, tdx, k.dloss);
  cmd.run();
  require_no_validation_messages();
  CHECK_NOTHROW(loss_fn.check_labels());

  const std::vector<double> xd(x.begin(), x.end());
  const auto loss_ref = ref::cross_entropy_forward(xd.data(), labels.data(), N, C, p);
  const auto loss = tloss.to_vector();
  if (k.reduction == Reduction::none) {
    // Each row loss is a sum of non-negative terms (see cross_entropy_loss_forward.comp): plain
    // relative tolerance.
    const auto m = compare(loss, loss_ref, 1e-5, 1e-6);
    INFO("row losses: " << m.count << " mismatches, worst at " << m.worst_index << ": got " << m.got << " expected "
                        << m.expected);
    CHECK(m.count == 0);
  } else {
    // A sum over N float32 row losses: its error grows with Σ|terms| (÷ count for the mean), not
    // with |result|; every row loss is >= 0, so that is |result| itself. Per-row error ~1e-7
    // relative, Kahan-compensated per-thread sums and a log2(256)-deep tree stay far below 1e-5.
    INFO("loss: got " << loss[0] << " expected " << loss_ref[0]);
    CHECK(close(loss[0], loss_ref[0], 0.0, 1e-6 + 1e-5 * std::fabs(loss_ref[0])));
  }

  std::vector<double> dx_ref(n);
  ref::cross_entropy_backward(xd.data(), labels.data(), dx_ref.data(), N, C, p, k.dloss);
  std::size_t count = 0;
  for (int32_t l : labels) count += l != k.ignore_index;
  // dx = (p_j - target_j)·scale: p_j carries ~1e-7 absolute error (exp and the row sum), which
  // survives the subtraction of the target, so the absolute bound scales with `scale`.
  const double scale =
      std::fabs(k.dloss) / (k.reduction == Reduction::mean ? double(std::max<std::size_t>(count, 1)) : 1.0);
  const auto m = compare(tdx.to_vector(), dx_ref, 1e-5, 1e-6 * scale);
  INFO("dlogits: " << m.count << " mismatches, worst at " << m.worst_index << ": got " << m.got << " expected "
                   << m.expected);
  CHECK(m.count == 0);
}

void check_nll(std::size_t N, std::size_t C, Reduction reduction, int32_t ignore_index, float dloss, uint64_t seed) {
  Context& ctx = context();
  const std::size_t n = N * C;
  auto logp = uniform(n, -12.0f, 0.0f, seed);
  const auto labels = make_labels(N, C, ignore_index, seed + 1);
  if (N >= 3 && labels[2] >= 0 && reduction == Reduction::none) logp[2 * C + labels[2]] = -inf;  // loss +inf
  INFO("nll (" << N << ", " << C << ") reduction " << int(reduction) << " ignore_index " << ignore_index);
  NllLoss loss_fn(ctx, N, NllOptions{}.set_reduction(reduction).set_ignore_index(ignore_index));
  Tensor tp = Tensor::from(ctx, {N, C}, logp), tl = Tensor::from<int32_t>(ctx, {N}, labels);
  Tensor tloss(ctx, {reduction == Reduction::none ? N : 1}), tdp(ctx, {N, C});
  tloss.fill(poison);
  tdp.fill(poison);
  CommandList cmd(ctx);
  loss_fn.forward(cmd, tp, tl, tloss);
  loss_fn.backward(cmd, tp, tl, tdp, dloss);
  cmd.run();
  require_no_validation_messages();
  CHECK_NOTHROW(loss_fn.check_labels());
  const std::vector<double> pd(logp.begin(), logp.end());
  const auto loss_ref = ref::nll_forward(pd.data(), labels.data(), N, C, int(reduction), ignore_index);
  // Row losses are exact negations; the mean / sum of non-negative terms is bounded relative to
  // itself (= Σ|terms|), as for cross-entropy.
  const auto lm = compare(tloss.to_vector(), loss_ref, 1e-5, 1e-6);
  INFO("loss: " << lm.count << " mismatches, worst at " << lm.worst_index << ": got " << lm.got << " expected "
                << lm.expected);
  CHECK(lm.count == 0);
  std::vector<double> dp_ref(n);
  ref::nll_backward(labels.data(), dp_ref.data(), N, C, int(reduction), ignore_index, dloss);
  const auto gm = compare(tdp.to_vector(), dp_ref, 1e-5, 0.0);  // -dloss/count: one rounding
  INFO("dlog_probs: " << gm.count << " mismatches, worst at " << gm.worst_index << ": got " << gm.got << " expected "
                      << gm.expected);
  CHECK(gm.count == 0);
}

void check_pointwise(PointwiseLossKind kind, std::size_t n, Reduction reduction, float dloss, uint64_t seed,
                     float beta = 1.0f) {
  Context& ctx = context();
  auto x = uniform(n, -8.0f, 8.0f, seed);
  auto t =
      kind == PointwiseLossKind::bce_with_logits ? uniform(n, 0.0f, 1.0f, seed + 1) : uniform(n, -2.0f, 2.0f, seed + 1);
  const float specials[] = {1e4f, -1e4f, 0.0f, -0.0f, 1e-40f, 80.0f, -80.0f};
  for (std::size_t i = 0; i < std::size(specials) && i * 7 < n; ++i) x[i * 7] = specials[i];
  if (kind == PointwiseLossKind::bce_with_logits && n > 3) t[0] = 1.0f, t[1] = 0.0f, t[2] = 1.0f;
  if (reduction == Reduction::none && n > 100) x[100] = std::numeric_limits<float>::quiet_NaN();
  const bool l1_family = kind == PointwiseLossKind::l1 || kind == PointwiseLossKind::smooth_l1;
  if (l1_family) {
    // The kinks and the extremes: x = t exactly (gradient 0), |x - t| = beta, denormal differences,
    // ±inf on either side, and (reduction none) NaN in the target.
    const float tiny = 1e-40f;
    const std::pair<float, float> pairs[] = {{0.5f, 0.5f}, {-3.0f, -3.0f}, {1.0f + beta, 1.0f}, {1.0f - beta, 1.0f},
                                             {tiny, 0.0f}, {-tiny, tiny},  {inf, 1.0f},         {-inf, 2.0f},
                                             {1.0f, inf},  {1e4f, -1e4f}};
    for (std::size_t i = 0; i < std::size(pairs) && 3 + i * 11 < n; ++i) {
      x[3 + i * 11] = pairs[i].first;
      t[3 + i * 11] = pairs[i].second;
    }
    if (reduction == Reduction::none && n > 101) t[101] = std::numeric_limits<float>::quiet_NaN();
  }
  const int k = int(kind);
  INFO(to_string(kind) << " n " << n << " reduction " << int(reduction) << " beta " << beta);
  PointwiseLoss loss_fn(ctx, kind, n, reduction, beta);
  Tensor tx = Tensor::from(ctx, {n}, x), tt = Tensor::from(ctx, {n}, t);
  Tensor tloss(ctx, {reduction == Reduction::none ? n : 1}), tdx(ctx, {n});
  tloss.fill(poison);
  tdx.fill(poison);
  CommandList cmd(ctx);
  loss_fn.forward(cmd, tx, tt, tloss);
  loss_fn.backward(cmd, tx, tt, tdx, dloss);
  cmd.run();
  require_no_validation_messages();

  const std::vector<double> xd(x.begin(), x.end()), td(t.begin(), t.end());
  const auto loss_ref = ref::pointwise_loss_forward(xd.data(), td.data(), n, k, int(reduction), beta);
  // BCE forms max(x, 0) - x·t, which cancels when t ≈ 1: the float error is ~1 ulp of |x|(1 + |t|),
  // not of the result. Each term gets 1e-6 of that magnitude (~10 ulp); a mean / sum of these
  // non-negative terms gets 1e-5 of itself (= Σ|terms|) plus the terms' own bounds added up.
  double magnitude_sum = 0;
  std::vector<double> term_bound(n);
  for (std::size_t i = 0; i < n; ++i) {
    term_bound[i] = k == 1 ? 1e-6 * std::fabs(xd[i]) * (1 + std::fabs(td[i])) : 0.0;
    magnitude_sum += term_bound[i];
  }
  const auto loss = tloss.to_vector();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < loss.size(); ++i) {
    const double extra = reduction == Reduction::none   ? term_bound[i]
                         : reduction == Reduction::mean ? magnitude_sum / double(n)
                                                        : magnitude_sum;
    if (close(loss[i], loss_ref[i], 1e-5, 1e-6 + extra)) continue;
    if (++bad <= 5) UNSCOPED_INFO("loss[" << i << "]: got " << loss[i] << " expected " << loss_ref[i]);
  }
  CHECK(bad == 0);
  std::vector<double> dx_ref(n);
  ref::pointwise_loss_backward(xd.data(), td.data(), dx_ref.data(), n, k, int(reduction), dloss, beta);
  // sigmoid(x) - t cancels too: ~1e-7 absolute before the scale. (The other kinds' gradients are
  // exact or one division: the same bound holds them with room.)
  const double scale = std::fabs(dloss) / (reduction == Reduction::mean ? double(n) : 1.0);
  const auto gm = compare(tdx.to_vector(), dx_ref, 1e-5, 1e-6 * scale);
  INFO("dx: " << gm.count << " mismatches, worst at " << gm.worst_index << ": got " << gm.got << " expected "
              << gm.expected);
  CHECK(gm.count == 0);
}

}  // namespace

TEST_CASE("cross-entropy mean on awkward sizes", "[loss][softmax]") {
  for_each_reduction_layout([&] {
    check_cross_entropy({1, 1}, 1);
    check_cross_entropy({3, 7}, 2);
    check_cross_entropy({7, 10}, 3);
    check_cross_entropy({64, 257}, 4);
    check_cross_entropy({13, 1031}, 5);
  });
}

TEST_CASE("cross-entropy sum and none, label smoothing, custom ignore_index, dloss", "[loss][softmax]") {
  for_each_reduction_layout([&] {
    check_cross_entropy({7, 10, Reduction::sum}, 11);
    check_cross_entropy({7, 10, Reduction::none}, 12);
    check_cross_entropy({33, 257, Reduction::mean, 0.1f}, 13);
    check_cross_entropy({33, 257, Reduction::sum, 0.25f}, 14);
    check_cross_entropy({33, 257, Reduction::none, 0.1f}, 15);
    check_cross_entropy({20, 10, Reduction::mean, 0.0f, 3}, 16);  // labels of 3 are ignored
    check_cross_entropy({20, 10, Reduction::mean, 0.1f, 3, 0.5f}, 17);
    check_cross_entropy({1, 7, Reduction::none, 0.0f, -100, -2.0f}, 18);
  });
}

TEST_CASE("cross-entropy over more than 1M logits and more rows than one dispatch covers", "[loss][softmax]") {
  for_each_reduction_layout([&] {
    check_cross_entropy({1100, 1000, Reduction::mean, 0.1f}, 21);  // 1.1M logits
    check_cross_entropy({70001, 3, Reduction::sum}, 22);           // > 65535 rows: grid-stride loop
    check_cross_entropy({70001, 3, Reduction::none}, 23);
  });
}

TEST_CASE("cross-entropy reports out-of-range labels through its status tensor", "[loss][softmax]") {
  for_each_reduction_layout([&] {
    Context& ctx = context();
    const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const std::vector<int32_t> labels = {1, -100, 5, -1};  // C = 3: rows 2 and 3 are bad
    Tensor tx = Tensor::from(ctx, {4, 3}, x), tl = Tensor::from<int32_t>(ctx, {4}, labels);
    Tensor rows(ctx, {4}), dx(ctx, {4, 3});
    CrossEntropyLoss loss_fn(ctx, 4, CrossEntropyOptions{}.set_reduction(Reduction::none));
    CHECK_NOTHROW(loss_fn.check_labels());  // nothing has run yet
    rows.fill(poison);
    dx.fill(poison);
    CommandList cmd(ctx);
    loss_fn.forward(cmd, tx, tl, rows);
    loss_fn.backward(cmd, tx, tl, dx);
    cmd.run();
    require_no_validation_messages();
    CHECK_THROWS_WITH(loss_fn.check_labels(), Catch::Contains("row 2 has label 5") && Catch::Contains("[0, 3)"));
    CHECK_THROWS_AS(check_label_status(loss_fn.status(), -100), InvalidArgument);
    const auto l = rows.to_vector();
    CHECK(l[0] == Approx(std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0));
    CHECK(l[1] == 0.0f);
    CHECK(std::isnan(l[2]));
    CHECK(std::isnan(l[3]));
    const auto d = dx.to_vector();
    for (std::size_t i = 3; i < 6; ++i) CHECK(d[i] == 0.0f);
    for (std::size_t i = 6; i < 12; ++i) CHECK(std::isnan(d[i]));
    const auto status = loss_fn.status().to_vector<int32_t>();
    CHECK(status == std::vector<int32_t>{2, 5, 3, 3});

    // The same object with valid labels passes again: the status is rewritten on every run.
    const std::vector<int32_t> good = {0, 1, 2, -100};
    tl.upload(std::span<const int32_t>(good));
    cmd.run();
    CHECK_NOTHROW(loss_fn.check_labels());
  });
}

TEST_CASE("cross-entropy edge cases: every row ignored, a label at a -inf logit", "[loss][softmax]") {
  for_each_reduction_layout([&] {
    Context& ctx = context();
    const std::vector<float> x = {0, 1, -inf, 2};
    Tensor tx = Tensor::from(ctx, {2, 2}, x);
    const std::vector<int32_t> ignored = {-100, -100};
    Tensor tl = Tensor::from<int32_t>(ctx, {2}, ignored);
    Tensor loss(ctx, {1}), dx(ctx, {2, 2});
    CrossEntropyLoss mean(ctx, 2);
    loss.fill(0.0f);
    dx.fill(poison);
    CommandList cmd(ctx);
    mean.forward(cmd, tx, tl, loss);
    mean.backward(cmd, tx, tl, dx);
    cmd.run();
    require_no_validation_messages();
    CHECK(std::isnan(loss.to_vector()[0]));  // PyTorch: 0 / 0
    CHECK(dx.to_vector() == std::vector<float>{0, 0, 0, 0});

    const std::vector<int32_t> at_minus_inf = {0, 0};  // row 1's label has logit -inf: loss inf
    Tensor tl2 = Tensor::from<int32_t>(ctx, {2}, at_minus_inf);
    Tensor sum_loss(ctx, {1});
    CrossEntropyLoss sum(ctx, 2, CrossEntropyOptions{}.set_reduction(Reduction::sum));
    sum_loss.fill(poison);
    dx.fill(poison);
    CommandList cmd2(ctx);
    sum.forward(cmd2, tx, tl2, sum_loss);
    sum.backward(cmd2, tx, tl2, dx);
    cmd2.run();
    require_no_validation_messages();
    CHECK(sum_loss.to_vector()[0] == inf);
    const auto d = dx.to_vector();
    CHECK(d[2] == -1.0f);  // p = 0 at the label
    CHECK(d[3] == 1.0f);
  });
}

TEST_CASE("cross-entropy rejects bad arguments", "[loss][softmax]") {
  Context& ctx = context();
  CHECK_THROWS_AS(CrossEntropyLoss(ctx, 4, CrossEntropyOptions{}.set_label_smoothing(1.0f)), InvalidArgument);
  CrossEntropyLoss loss_fn(ctx, 4);
  Tensor x(ctx, {5, 3}), labels(ctx, {4}, DType::i32), flabels(ctx, {4}), loss(ctx, {1}), rows(ctx, {4});
  Tensor x4(ctx, {4, 3});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(loss_fn.forward(cmd, x, labels, loss), Catch::Contains("[5, 3]"));
  CHECK_THROWS_WITH(loss_fn.forward(cmd, x4, flabels, loss), Catch::Contains("labels i32"));
  CHECK_THROWS_WITH(loss_fn.forward(cmd, x4, labels, rows), Catch::Contains("1 element"));
}

TEST_CASE("nll loss forward and backward", "[loss]") {
  for_each_reduction_layout([&] {
    check_nll(1, 1, Reduction::mean, -100, 1.0f, 31);
    check_nll(7, 10, Reduction::mean, -100, 1.0f, 32);
    check_nll(64, 257, Reduction::sum, -100, 0.5f, 33);
    check_nll(13, 1031, Reduction::none, -100, 1.0f, 34);
    check_nll(20, 10, Reduction::mean, 3, -2.0f, 35);
    check_nll(70001, 3, Reduction::mean, -100, 1.0f, 36);
  });
}

TEST_CASE("nll loss reports out-of-range labels", "[loss]") {
  for_each_reduction_layout([&] {
    Context& ctx = context();
    const std::vector<float> logp(6, -1.0f);
    const std::vector<int32_t> labels = {0, 7};
    Tensor tp = Tensor::from(ctx, {2, 3}, logp), tl = Tensor::from<int32_t>(ctx, {2}, labels), loss(ctx, {1});
    NllLoss loss_fn(ctx, 2);
    CommandList cmd(ctx);
    loss_fn.forward(cmd, tp, tl, loss);
    cmd.run();
    require_no_validation_messages();
    CHECK_THROWS_WITH(loss_fn.check_labels(), Catch::Contains("row 1 has label 7"));
    CHECK(std::isnan(loss.to_vector()[0]));
  });
}

TEST_CASE("mse and bce-with-logits forward and backward", "[loss]") {
  for (auto kind : {PointwiseLossKind::mse, PointwiseLossKind::bce_with_logits}) {
    check_pointwise(kind, 1, Reduction::mean, 1.0f, 41);
    check_pointwise(kind, 7, Reduction::sum, 1.0f, 42);
    check_pointwise(kind, 257, Reduction::none, 1.0f, 43);
    check_pointwise(kind, 1031, Reduction::mean, -0.5f, 44);
    check_pointwise(kind, (1u << 20) + 7, Reduction::mean, 1.0f, 45);
    check_pointwise(kind, (1u << 20) + 7, Reduction::sum, 1.0f, 46);
  }
}

TEST_CASE("l1 and smooth_l1 forward and backward on awkward sizes and extremes", "[loss]") {
  for (auto kind : {PointwiseLossKind::l1, PointwiseLossKind::smooth_l1}) {
    check_pointwise(kind, 1, Reduction::mean, 1.0f, 51);
    check_pointwise(kind, 7, Reduction::sum, 1.0f, 52);
    check_pointwise(kind, 255, Reduction::none, 1.0f, 53);
    check_pointwise(kind, 257, Reduction::none, -2.0f, 54);
    check_pointwise(kind, 1031, Reduction::mean, -0.5f, 55);
    check_pointwise(kind, 65537, Reduction::sum, 1.0f, 56);
    check_pointwise(kind, (1u << 20) + 7, Reduction::mean, 1.0f, 57);
  }
  // smooth_l1's beta: PyTorch's 1 above; smaller and larger ones, and 0, which is L1.
  for (float beta : {0.5f, 3.0f, 0.0f}) {
    check_pointwise(PointwiseLossKind::smooth_l1, 257, Reduction::none, 1.0f, 58, beta);
    check_pointwise(PointwiseLossKind::smooth_l1, 4099, Reduction::mean, 1.0f, 59, beta);
  }
}

TEST_CASE("smooth_l1 with beta 0 equals l1 bit for bit, and a negative beta is refused", "[loss]") {
  Context& ctx = context();
  const std::size_t n = 1031;
  auto x = uniform(n, -3.0f, 3.0f, 61), t = uniform(n, -3.0f, 3.0f, 62);
  x[5] = t[5];  // the kink: gradient 0 for both
  Tensor tx = Tensor::from(ctx, {n}, x), tt = Tensor::from(ctx, {n}, t);
  const auto run = [&](PointwiseLossKind kind, float beta) {
    PointwiseLoss loss_fn(ctx, kind, n, Reduction::none, beta);
    Tensor loss(ctx, {n}), dx(ctx, {n});
    loss.fill(poison);
    dx.fill(poison);
    CommandList cmd(ctx);
    loss_fn.forward(cmd, tx, tt, loss);
    loss_fn.backward(cmd, tx, tt, dx);
    cmd.run();
    require_no_validation_messages();
    return std::make_pair(loss.to_vector(), dx.to_vector());
  };
  const auto l1 = run(PointwiseLossKind::l1, 1.0f), smooth = run(PointwiseLossKind::smooth_l1, 0.0f);
  CHECK(l1.first == smooth.first);
  CHECK(l1.second == smooth.second);
  CHECK(l1.second[5] == 0.0f);
  CHECK_THROWS_WITH(PointwiseLoss(ctx, PointwiseLossKind::smooth_l1, n, Reduction::mean, -1.0f),
                    Catch::Contains("beta must be finite and >= 0"));
  CHECK_THROWS_AS(PointwiseLoss(ctx, PointwiseLossKind::smooth_l1, n, Reduction::mean, inf), InvalidArgument);
}

}  // namespace vkgrad::test
