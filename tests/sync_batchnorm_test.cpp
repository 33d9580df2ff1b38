// The split batch-norm ops (batchnorm_statistics, batchnorm_combine_statistics, batchnorm_normalize,
// batchnorm_backward_sums, batchnorm_backward_apply) against the double reference, over a batch split
// into replicas; the reference against finite differences; and nn::SyncBatchNorm on 2, 3 and 4
// replicas simulated by threads (thread_replicas.hpp) against BatchNorm1d on the whole batch.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>

#include "batchnorm_checks.hpp"
#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/batchnorm_ref.hpp"
#include "reference/batchnorm_sync_ref.hpp"
#include "thread_replicas.hpp"
#include "vkgrad/batchnorm.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::test {
namespace sync_bn {

using namespace bn_checks;

enum class Kind { plain, large_offset, non_finite, constant_and_denormal };

// x (N, C) of `kind`: plain U(-3, 3); large_offset ±1e4 + U(-1, 1) (float32 Σx² − (Σx)²/N would be
// all rounding error); non_finite: a NaN in channel 1, +inf in channel 2, +inf and −inf in channel 3,
// each row placed in a different part of the batch; constant_and_denormal: even channels constant,
// channel 1 denormal values, channel 3 zeros.
std::vector<float> make_x(std::size_t N, std::size_t C, Kind kind, uint64_t seed) {
  auto x = uniform(N * C, -3.0f, 3.0f, seed);
  const float inf = std::numeric_limits<float>::infinity();
  if (kind == Kind::large_offset) {
    x = uniform(N * C, -1.0f, 1.0f, seed);
    for (std::size_t i = 0; i < N * C; ++i) x[i] += (i % C) % 2 ? -1e4f : 1e4f;
  }
  if (kind == Kind::non_finite && C >= 4) {
    x[(N / 2) * C + 1] = std::numeric_limits<float>::quiet_NaN();
    x[(N - 1) * C + 2] = inf;
    x[0 * C + 3] = inf;
    x[(N - 1) * C + 3] = -inf;
  }
  if (kind == Kind::constant_and_denormal) {
    for (std::size_t r = 0; r < N; ++r) {
      for (std::size_t c = 0; c < C; c += 2) x[r * C + c] = 3.3f + float(c);
      if (C > 1) x[r * C + 1] = std::ldexp(x[r * C + 1], -130);  // denormal
      if (C > 3) x[r * C + 3] = 0.0f;
    }
  }
  return x;
}

// The full-batch double reference of a training step: statistics, y, running statistics, and the
// backward pass for dy, with the magnitudes the tolerances are relative to.
struct Reference {
  std::vector<double> y, mean, invstd, var_unbiased, rm, rv, dx, dgamma, dbeta;
  std::vector<double> y_allowed, dx_allowed, mean_allowed, dgamma_allowed, dbeta_allowed;

  Reference(const std::vector<float>& x, const std::vector<float>& dy, std::size_t N, std::size_t C,
            const std::vector<float>& gamma, const std::vector<float>& beta, std::vector<double> running_mean,
            std::vector<double> running_var, const BatchNormOptions& o)
      : y(N * C),
        mean(C),
        invstd(C),
        var_unbiased(C),
        rm(std::move(running_mean)),
        rv(std::move(running_var)),
        dx(N * C),
        dgamma(C),
        dbeta(C),
        y_allowed(N * C),
        dx_allowed(N * C),
        mean_allowed(C),
        dgamma_allowed(C),
        dbeta_allowed(C) {
    const auto xd = doubles(x), dyd = doubles(dy), gd = doubles(gamma), bd = doubles(beta);
    const double* gp = o.affine ? gd.data() : nullptr;
    ref::batchnorm_forward_train(xd.data(), N, C, gp, o.affine ? bd.data() : nullptr, o.eps, y.data(), mean.data(),
                                 invstd.data(), var_unbiased.data());
    ref::batchnorm_update_running(rm.data(), rv.data(), mean.data(), var_unbiased.data(), C, o.momentum);
    ref::batchnorm_backward(xd.data(), dyd.data(), N, C, mean.data(), invstd.data(), gp, dx.data(), dgamma.data(),
                            dbeta.data());
    // Float32 sums over N rows: errors relative to the sums of the terms' magnitudes (as in
    // batchnorm_test.cpp); y = xhat·gamma + beta and dx's three terms may cancel, so their bounds are
    // relative to the terms, not to the result.
    std::vector<double> abs_x(C, 0.0), abs_dy(C, 0.0), abs_dyx(C, 0.0);
    for (std::size_t i = 0; i < N * C; ++i) {
      const std::size_t c = i % C;
      abs_x[c] += std::fabs(xd[i]) / double(N);
      abs_dy[c] += std::fabs(dyd[i]);
      abs_dyx[c] += std::fabs(dyd[i] * (xd[i] - mean[c]) * invstd[c]);
    }
    for (std::size_t i = 0; i < N * C; ++i) {
      const std::size_t c = i % C;
      const double g = gp ? gp[c] : 1.0, xhat = (xd[i] - mean[c]) * invstd[c];
      y_allowed[i] = 1e-6 + 1e-5 * (std::fabs(xhat * g) + (o.affine ? std::fabs(bd[c]) : 0.0));
      dx_allowed[i] = 1e-6 + 1e-5 * std::fabs(g) * invstd[c] *
                                 (std::fabs(dyd[i]) + abs_dy[c] / double(N) + std::fabs(xhat) * abs_dyx[c] / double(N));
    }
    for (std::size_t c = 0; c < C; ++c) {
      mean_allowed[c] = 1e-6 + 1e-5 * abs_x[c];
      dgamma_allowed[c] = 1e-6 + 1e-5 * abs_dyx[c];
      dbeta_allowed[c] = 1e-6 + 1e-5 * abs_dy[c];
    }
  }
  std::vector<double> rm_allowed() const {
    std::vector<double> a(rm.size());
    for (std::size_t c = 0; c < a.size(); ++c) a[c] = 1e-6 + 1e-5 * std::fabs(rm[c]) + mean_allowed[c];
    return a;
  }
  std::vector<double> rv_allowed() const {
    std::vector<double> a(rv.size());
    for (std::size_t c = 0; c < a.size(); ++c) a[c] = 1e-6 + 1e-5 * std::fabs(rv[c]);
    return a;
  }
};

// The op-level pieces over a batch of N rows split into parts of `splits` rows (summing to N), as
// the replicas of one step would record them, each output NaN-poisoned first, every piece checked
// against the reference.
void check_split_ops(std::size_t C, const std::vector<std::size_t>& splits, Kind kind, bool affine, uint64_t seed) {
  Context& ctx = context();
  const std::size_t N = std::accumulate(splits.begin(), splits.end(), std::size_t(0)), R = splits.size();
  INFO("C " << C << ", splits " << ::Catch::Detail::stringify(splits) << ", kind " << int(kind) << ", affine "
            << affine);
  const auto options = BatchNormOptions{}.set_affine(affine).set_momentum(0.25f);
  const auto x = make_x(N, C, kind, seed), dy = uniform(N * C, -1.0f, 1.0f, seed + 1);
  const auto gamma = uniform(C, 0.5f, 2.0f, seed + 2), beta = uniform(C, -1.0f, 1.0f, seed + 3);
  const auto rm0 = uniform(C, -1.0f, 1.0f, seed + 4), rv0 = uniform(C, 0.5f, 2.0f, seed + 5);
  const Reference ref(x, dy, N, C, gamma, beta, doubles(rm0), doubles(rv0), options);

  // Statistics of each part, against the reference's.
  std::vector<float> gathered;
  std::vector<uint64_t> counts(splits.begin(), splits.end());
  std::size_t begin = 0;
  for (std::size_t r = 0; r < R; ++r) {
    const std::size_t n = splits[r];
    const auto xr = rows_of(x, C, begin, begin + n);
    Tensor tx = Tensor::from(ctx, {n, C}, xr), stats(ctx, {3, C});
    stats.fill(poison);
    CommandList cmd(ctx);
    batchnorm_statistics(cmd, tx, stats);
    cmd.run();
    const auto s = stats.to_vector();
    std::vector<double> mean(C), m2(C);
    const auto xrd = doubles(xr);
    ref::batchnorm_statistics(xrd.data(), n, C, mean.data(), m2.data());
    std::vector<float> got_mean(C);
    std::vector<double> mean_allowed(C), m2_allowed(C);
    for (std::size_t c = 0; c < C; ++c) {
      // mean_hi + mean_lo carries more than float precision: checked as a double.
      got_mean[c] = float(double(s[c]) + double(s[C + c]));
      double abs_x = 0;
      for (std::size_t k = 0; k < n; ++k) abs_x += std::fabs(xrd[k * C + c]) / double(n);
      mean_allowed[c] = 1e-6 + 1e-5 * abs_x;
      m2_allowed[c] = 1e-6 + 1e-5 * std::fabs(m2[c]);
    }
    INFO("part " << r);
    check_within("statistics mean", got_mean, mean, mean_allowed);
    check_within("statistics m2", std::vector<float>(s.begin() + 2 * long(C), s.end()), m2, m2_allowed);
    gathered.insert(gathered.end(), s.begin(), s.end());
    begin += n;
  }

  // The host combination, against the full batch's statistics.
  std::vector<float> moments(4 * C, poison);
  batchnorm_combine_statistics(gathered, counts, options.eps, moments);
  {
    std::vector<float> mean(C), invstd(C), var(C);
    std::vector<double> invstd_allowed(C), var_allowed(C);
    for (std::size_t c = 0; c < C; ++c) {
      mean[c] = float(double(moments[c]) + double(moments[C + c]));
      invstd[c] = moments[2 * C + c];
      var[c] = moments[3 * C + c];
      invstd_allowed[c] = 1e-6 + 1e-5 * ref.invstd[c];
      var_allowed[c] = 1e-6 + 1e-5 * std::fabs(ref.var_unbiased[c]);
    }
    check_within("combined mean", mean, ref.mean, ref.mean_allowed);
    check_within("combined invstd", invstd, ref.invstd, invstd_allowed);
    check_within("combined var_unbiased", var, ref.var_unbiased, var_allowed);
  }

  // Each part normalises with the combined moments and updates its own running statistics; then
  // its backward sums, added up in rank order (in double), and the gradients.
  Tensor tmoments = Tensor::from(ctx, {4, C}, moments);
  Tensor tgamma = Tensor::from(ctx, {C}, gamma), tbeta = Tensor::from(ctx, {C}, beta);
  std::vector<float> y, dx;
  std::vector<std::vector<float>> local_sums;
  std::vector<double> global(2 * C, 0.0);
  begin = 0;
  for (std::size_t r = 0; r < R; ++r) {
    const std::size_t n = splits[r];
    Tensor tx = Tensor::from(ctx, {n, C}, rows_of(x, C, begin, begin + n));
    Tensor tdy = Tensor::from(ctx, {n, C}, rows_of(dy, C, begin, begin + n));
    Tensor trm = Tensor::from(ctx, {C}, rm0), trv = Tensor::from(ctx, {C}, rv0), ty(ctx, {n, C}), sums(ctx, {2, C});
    ty.fill(poison);
    sums.fill(poison);
    CommandList cmd(ctx);
    batchnorm_normalize(cmd, tx, tmoments, tgamma, tbeta, trm, trv, ty, options);
    batchnorm_backward_sums(cmd, tx, tdy, tmoments, sums);
    cmd.run();
    INFO("part " << r);
    check_within("running_mean", trm.to_vector(), ref.rm, ref.rm_allowed());
    check_within("running_var", trv.to_vector(), ref.rv, ref.rv_allowed());
    const auto yr = ty.to_vector();
    y.insert(y.end(), yr.begin(), yr.end());
    local_sums.push_back(sums.to_vector());
    for (std::size_t i = 0; i < 2 * C; ++i) global[i] += local_sums.back()[i];
    begin += n;
  }
  check_within("y", y, ref.y, ref.y_allowed);

  std::vector<float> global_f(global.begin(), global.end()), dgamma_sum(C, 0.0f), dbeta_sum(C, 0.0f);
  Tensor tglobal = Tensor::from(ctx, {2, C}, global_f);
  begin = 0;
  for (std::size_t r = 0; r < R; ++r) {
    const std::size_t n = splits[r];
    Tensor tx = Tensor::from(ctx, {n, C}, rows_of(x, C, begin, begin + n));
    Tensor tdy = Tensor::from(ctx, {n, C}, rows_of(dy, C, begin, begin + n));
    Tensor tlocal = Tensor::from(ctx, {2, C}, local_sums[r]), tdx(ctx, {n, C}), tdg(ctx, {C}), tdb(ctx, {C});
    for (Tensor* t : {&tdx, &tdg, &tdb}) t->fill(poison);
    CommandList cmd(ctx);
    batchnorm_backward_apply(cmd, tx, tdy, tmoments, tglobal, tlocal, N, tgamma, tdx, tdg, tdb, options);
    cmd.run();
    const auto dxr = tdx.to_vector(), dg = tdg.to_vector(), db = tdb.to_vector();
    dx.insert(dx.end(), dxr.begin(), dxr.end());
    for (std::size_t c = 0; c < C; ++c) {
      if (affine) {
        // The weight and bias gradients are this part's own sums, bit for bit.
        CHECK((dg[c] == local_sums[r][C + c] || (std::isnan(dg[c]) && std::isnan(local_sums[r][C + c]))));
        CHECK((db[c] == local_sums[r][c] || (std::isnan(db[c]) && std::isnan(local_sums[r][c]))));
      } else {
        CHECK(std::isnan(dg[c]));  // not written without affine: the poison stays
      }
      dgamma_sum[c] += dg[c];
      dbeta_sum[c] += db[c];
    }
    begin += n;
  }
  require_no_validation_messages();
  check_within("dx", dx, ref.dx, ref.dx_allowed);
  if (affine) {
    check_within("dgamma summed over the parts", dgamma_sum, ref.dgamma, ref.dgamma_allowed);
    check_within("dbeta summed over the parts", dbeta_sum, ref.dbeta, ref.dbeta_allowed);
  }
}

// With one replica, the split ops against batchnorm_forward and batchnorm_backward on the same
// inputs. Not bit for bit: the host combines in double (var = m2 / n and invstd rounded once from
// double, where batchnorm_forward computes sum_d2 / n − shift² and 1 / sqrt in float), and
// batchnorm_backward's x̂ uses the float saved mean where the split ops use mean_hi + mean_lo.
// Both are float32 roundings of the same terms, so the bounds are those of the reference tests:
// 1e-5 relative to the terms each value is made of (Reference), plus 1e-6.
void check_one_replica_matches_batchnorm(std::size_t N, std::size_t C, Kind kind, uint64_t seed) {
  Context& ctx = context();
  INFO("N " << N << ", C " << C << ", kind " << int(kind));
  const auto options = BatchNormOptions{}.set_momentum(0.25f);
  const auto x = make_x(N, C, kind, seed), dy = uniform(N * C, -1.0f, 1.0f, seed + 1);
  const auto gamma = uniform(C, 0.5f, 2.0f, seed + 2), beta = uniform(C, -1.0f, 1.0f, seed + 3);
  const auto rm0 = uniform(C, -1.0f, 1.0f, seed + 4), rv0 = uniform(C, 0.5f, 2.0f, seed + 5);
  const Reference ref(x, dy, N, C, gamma, beta, doubles(rm0), doubles(rv0), options);
  Tensor tx = Tensor::from(ctx, {N, C}, x), tdy = Tensor::from(ctx, {N, C}, dy);
  Tensor tg = Tensor::from(ctx, {C}, gamma), tb = Tensor::from(ctx, {C}, beta);
  // batchnorm_forward / batchnorm_backward.
  Tensor rm1 = Tensor::from(ctx, {C}, rm0), rv1 = Tensor::from(ctx, {C}, rv0), mean(ctx, {C}), invstd(ctx, {C});
  Tensor y1(ctx, {N, C}), dx1(ctx, {N, C}), dg1(ctx, {C}), db1(ctx, {C});
  // The split ops.
  Tensor rm2 = Tensor::from(ctx, {C}, rm0), rv2 = Tensor::from(ctx, {C}, rv0), stats(ctx, {3, C}), sums(ctx, {2, C});
  Tensor y2(ctx, {N, C}), dx2(ctx, {N, C}), dg2(ctx, {C}), db2(ctx, {C});
  for (Tensor* t : {&mean, &invstd, &y1, &dx1, &dg1, &db1, &stats, &sums, &y2, &dx2, &dg2, &db2}) t->fill(poison);
  CommandList whole(ctx);
  batchnorm_forward(whole, tx, tg, tb, rm1, rv1, mean, invstd, y1, options);
  batchnorm_backward(whole, tx, tdy, mean, invstd, tg, dx1, dg1, db1, options);
  batchnorm_statistics(whole, tx, stats);
  whole.run();
  std::vector<float> moments(4 * C);
  const std::vector<uint64_t> count{N};
  batchnorm_combine_statistics(stats.to_vector(), count, options.eps, moments);
  Tensor tmoments = Tensor::from(ctx, {4, C}, moments);
  CommandList split(ctx);
  batchnorm_normalize(split, tx, tmoments, tg, tb, rm2, rv2, y2, options);
  batchnorm_backward_sums(split, tx, tdy, tmoments, sums);
  batchnorm_backward_apply(split, tx, tdy, tmoments, sums, sums, N, tg, dx2, dg2, db2, options);
  split.run();
  require_no_validation_messages();
  const auto as_expected = [](const Tensor& t) { return doubles(t.to_vector()); };
  check_within("y", y2.to_vector(), as_expected(y1), ref.y_allowed);
  check_within("running_mean", rm2.to_vector(), as_expected(rm1), ref.rm_allowed());
  check_within("running_var", rv2.to_vector(), as_expected(rv1), ref.rv_allowed());
  check_within("dx", dx2.to_vector(), as_expected(dx1), ref.dx_allowed);
  check_within("dgamma", dg2.to_vector(), as_expected(dg1), ref.dgamma_allowed);
  check_within("dbeta", db2.to_vector(), as_expected(db1), ref.dbeta_allowed);
}

}  // namespace sync_bn

using namespace sync_bn;

TEST_CASE("split batch norm ops over one part match the reference", "[batchnorm][syncbn]") {
  for_each_reduction_layout([&] {
    check_split_ops(1, {2}, Kind::plain, true, 10);
    check_split_ops(7, {7}, Kind::plain, true, 20);
    check_split_ops(255, {33}, Kind::plain, false, 30);
    check_split_ops(257, {13}, Kind::plain, true, 40);
    check_split_ops(512, {2053}, Kind::plain, true, 50);  // 1,051,136 elements
  });
}

TEST_CASE("with one replica the split ops equal batchnorm_forward and batchnorm_backward", "[batchnorm][syncbn]") {
  for_each_reduction_layout([&] {
    check_one_replica_matches_batchnorm(2, 1, Kind::plain, 300);
    check_one_replica_matches_batchnorm(7, 7, Kind::plain, 310);
    check_one_replica_matches_batchnorm(255, 257, Kind::plain, 320);
    check_one_replica_matches_batchnorm(2053, 512, Kind::plain, 330);  // 1,051,136 elements
    check_one_replica_matches_batchnorm(13, 10, Kind::constant_and_denormal, 340);
    check_one_replica_matches_batchnorm(7, 10, Kind::non_finite, 350);
  });
}

TEST_CASE("split batch norm ops over several parts match one batch", "[batchnorm][syncbn]") {
  for_each_reduction_layout([&] {
    check_split_ops(7, {3, 4}, Kind::plain, true, 100);
    check_split_ops(7, {1, 1}, Kind::plain, true, 110);
    check_split_ops(1, {1, 5, 1}, Kind::plain, true, 120);
    check_split_ops(257, {4, 1, 2, 6}, Kind::plain, false, 130);
    check_split_ops(131, {2000, 1, 3000, 2998}, Kind::plain, true, 140);  // 1,048,131 elements
  });
}

TEST_CASE("split batch norm ops on extreme inputs", "[batchnorm][syncbn]") {
  for_each_reduction_layout([&] {
    check_split_ops(7, {3, 4}, Kind::large_offset, true, 200);
    check_split_ops(33, {100, 157}, Kind::large_offset, true, 210);
    check_split_ops(7, {3, 4}, Kind::non_finite, true, 220);
    check_split_ops(10, {5, 1, 7}, Kind::non_finite, true, 230);
    check_split_ops(10, {2, 5}, Kind::constant_and_denormal, true, 240);
  });
}

TEST_CASE("split batch norm ops refuse bad arguments", "[batchnorm][syncbn]") {
  Context& ctx = context();
  Tensor x(ctx, {3, 4}), stats(ctx, {3, 4}), moments(ctx, {4, 4}), g(ctx, {4}), b(ctx, {4}), rm(ctx, {4}), rv(ctx, {4}),
      y(ctx, {3, 4}), sums(ctx, {2, 4}), dx(ctx, {3, 4}), wrong(ctx, {4, 3}), ints(ctx, {3, 4}, DType::i32);
  CommandList cmd(ctx);
  require_refused([&] { batchnorm_statistics(cmd, x, wrong); }, {"batchnorm_statistics", "statistics", "(3, C)"});
  require_refused([&] { batchnorm_statistics(cmd, ints, stats); }, {"batchnorm_statistics", "'x'"});
  require_refused([&] { batchnorm_normalize(cmd, x, stats, g, b, rm, rv, y); }, {"batchnorm_normalize", "moments"});
  require_refused([&] { batchnorm_normalize(cmd, x, moments, g, b, rm, rv, x); }, {"batchnorm_normalize", "'y'"});
  require_refused([&] { batchnorm_normalize(cmd, x, moments, g, b, rm, rv, y, BatchNormOptions{}.set_momentum(2)); },
                  {"momentum"});
  require_refused([&] { batchnorm_backward_sums(cmd, x, wrong, moments, sums); }, {"batchnorm_backward_sums", "dy"});
  require_refused([&] { batchnorm_backward_apply(cmd, x, y, moments, sums, sums, 0, g, dx, rm, rv); }, {"count"});
  require_refused([&] { batchnorm_backward_apply(cmd, x, y, moments, sums, sums, 3, g, x, rm, rv); }, {"'dx'"});
  std::vector<float> out(16);
  const std::vector<float> in(12, 0.0f);
  const std::vector<uint64_t> one_row{1}, two{1, 1};
  require_refused([&] { batchnorm_combine_statistics(in, one_row, 1e-5f, out); }, {"more than 1 value"});
  require_refused([&] { batchnorm_combine_statistics(in, two, 1e-5f, out); }, {"per replica"});
  require_refused([&] { batchnorm_combine_statistics(in, one_row, -1.0f, out); }, {"eps"});
}

TEST_CASE("split batch norm reference backward matches finite differences", "[batchnorm][syncbn][reference]") {
  // The composition of the reference pieces over parts of 2, 1 and 4 rows: L = Σ w·y, so dL/dy = w.
  const std::size_t C = 3;
  const std::vector<std::size_t> splits{2, 1, 4};
  const std::size_t N = 7, R = splits.size();
  auto x = doubles(uniform(N * C, -2.0f, 2.0f, 5));
  auto gamma = doubles(uniform(C, 0.5f, 2.0f, 6));
  const auto w = doubles(uniform(N * C, -1.0f, 1.0f, 7));
  const double eps = 1e-5;
  std::vector<uint64_t> counts(splits.begin(), splits.end());
  // mean and invstd of the whole batch, through the per-part statistics and their combination.
  const auto combined = [&](std::vector<double>& mean, std::vector<double>& invstd) {
    std::vector<double> means(R * C), m2s(R * C), var(C);
    std::size_t begin = 0;
    for (std::size_t r = 0; r < R; ++r) {
      ref::batchnorm_statistics(x.data() + begin * C, splits[r], C, means.data() + r * C, m2s.data() + r * C);
      begin += splits[r];
    }
    ref::batchnorm_combine_statistics(means.data(), m2s.data(), counts.data(), R, C, eps, mean.data(), invstd.data(),
                                      var.data());
  };
  const auto loss = [&] {
    std::vector<double> mean(C), invstd(C);
    combined(mean, invstd);
    double l = 0;
    for (std::size_t i = 0; i < N * C; ++i) l += w[i] * (x[i] - mean[i % C]) * invstd[i % C] * gamma[i % C];
    return l;
  };
  std::vector<double> mean(C), invstd(C), sum_dy(C, 0.0), sum_dyx(C, 0.0), dx(N * C);
  combined(mean, invstd);
  std::size_t begin = 0;
  for (std::size_t r = 0; r < R; ++r) {  // each part's sums, added up
    std::vector<double> s_dy(C), s_dyx(C);
    ref::batchnorm_backward_sums(x.data() + begin * C, w.data() + begin * C, splits[r], C, mean.data(), invstd.data(),
                                 s_dy.data(), s_dyx.data());
    for (std::size_t c = 0; c < C; ++c) sum_dy[c] += s_dy[c], sum_dyx[c] += s_dyx[c];
    begin += splits[r];
  }
  begin = 0;
  for (std::size_t r = 0; r < R; ++r) {
    ref::batchnorm_backward_apply(x.data() + begin * C, w.data() + begin * C, splits[r], C, mean.data(), invstd.data(),
                                  gamma.data(), sum_dy.data(), sum_dyx.data(), double(N), dx.data() + begin * C);
    begin += splits[r];
  }
  const auto numeric = [&](double& v) { return central_difference(loss, v); };
  // Central differences: truncation O(h²) plus rounding ~1e-16·|L|/h ≈ 1e-9 here.
  for (std::size_t i = 0; i < N * C; ++i) CHECK(close(dx[i], numeric(x[i]), 1e-6, 1e-7));
  // dgamma = Σ dy·xhat over every part (the parts' own sums added up).
  for (std::size_t c = 0; c < C; ++c) CHECK(close(sum_dyx[c], numeric(gamma[c]), 1e-6, 1e-7));
}

}  // namespace vkgrad::test
