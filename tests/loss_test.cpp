// Cross-entropy (forward and backward, every reduction, label smoothing, ignore_index) against the
// double reference (tests/reference/loss_ref.cpp), plus device-side label validation.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <vkgrad/loss.hpp>

#include "harness.hpp"
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
      for (std::size_t c = 0; c < C; c += 2) if (int32_t(c) != labels[1]) x[C + c] = -inf;
    }
  }
  const ref::CrossEntropyParams p{int(k.reduction), k.ignore_index, k.smoothing};
  std::ostringstream where;
  where << "cross_entropy (" << N << ", " << C << ") reduction " << p.reduction << " eps " << k.smoothing
        << " ignore_index " << k.ignore_index;
  INFO(where.str());

  CrossEntropyLoss loss_fn(ctx, N, CrossEntropyOptions{}
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
    INFO("row losses: " << m.count << " mismatches, worst at " << m.worst_index << ": got " << m.got
                        << " expected " << m.expected);
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
  const double scale = std::fabs(k.dloss) / (k.reduction == Reduction::mean ? double(std::max<std::size_t>(count, 1)) : 1.0);
  const auto m = compare(tdx.to_vector(), dx_ref, 1e-5, 1e-6 * scale);
  INFO("dlogits: " << m.count << " mismatches, worst at " << m.worst_index << ": got " << m.got << " expected "
                   << m.expected);
  CHECK(m.count == 0);
}

}  // namespace

TEST_CASE("cross-entropy mean on awkward sizes", "[loss][softmax]") {
  check_cross_entropy({1, 1}, 1);
  check_cross_entropy({3, 7}, 2);
  check_cross_entropy({7, 10}, 3);
  check_cross_entropy({64, 257}, 4);
  check_cross_entropy({13, 1031}, 5);
}

TEST_CASE("cross-entropy sum and none, label smoothing, custom ignore_index, dloss", "[loss][softmax]") {
  check_cross_entropy({7, 10, Reduction::sum}, 11);
  check_cross_entropy({7, 10, Reduction::none}, 12);
  check_cross_entropy({33, 257, Reduction::mean, 0.1f}, 13);
  check_cross_entropy({33, 257, Reduction::sum, 0.25f}, 14);
  check_cross_entropy({33, 257, Reduction::none, 0.1f}, 15);
  check_cross_entropy({20, 10, Reduction::mean, 0.0f, 3}, 16);  // labels of 3 are ignored
  check_cross_entropy({20, 10, Reduction::mean, 0.1f, 3, 0.5f}, 17);
  check_cross_entropy({1, 7, Reduction::none, 0.0f, -100, -2.0f}, 18);
}

TEST_CASE("cross-entropy over more than 1M logits and more rows than one dispatch covers", "[loss][softmax]") {
  check_cross_entropy({1100, 1000, Reduction::mean, 0.1f}, 21);  // 1.1M logits
  check_cross_entropy({70001, 3, Reduction::sum}, 22);            // > 65535 rows: grid-stride loop
  check_cross_entropy({70001, 3, Reduction::none}, 23);
}

TEST_CASE("cross-entropy reports out-of-range labels through its status tensor", "[loss][softmax]") {
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
}

TEST_CASE("cross-entropy edge cases: every row ignored, a label at a -inf logit", "[loss][softmax]") {
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

}  // namespace vkgrad::test
