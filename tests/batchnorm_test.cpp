// BatchNorm1d: training forward (y, saved statistics, running statistics over several steps),
// eval forward and backward against the double reference, on awkward shapes, a > 1M-element case,
// large offsets (x = 1e4 + noise, where E[x²] - E[x]² in float32 would be all rounding error) and
// constant columns (variance 0); plus the reference backward against finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "batchnorm_checks.hpp"
#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/batchnorm_ref.hpp"
#include "vkgrad/batchnorm.hpp"

namespace vkgrad::test {
namespace {

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// What a training-mode case feeds the layer.
struct Inputs {
  enum class Kind { plain, large_offset, constant_columns, non_finite } kind = Kind::plain;
  bool affine = true;
  BatchNormOptions options{};
};

std::vector<float> make_x(std::size_t N, std::size_t C, Inputs::Kind kind, uint64_t seed) {
  auto x = uniform(N * C, -3.0f, 3.0f, seed);
  if (kind == Inputs::Kind::large_offset) {
    // 1e4 + noise of spread ~0.6: float32 E[x²] - E[x]² would lose all of var ≈ 0.33 (ulp(1e8) = 8).
    x = uniform(N * C, -1.0f, 1.0f, seed);
    for (auto& v : x) v += 1e4f;
  }
  if (kind == Inputs::Kind::constant_columns) {
    for (std::size_t r = 0; r < N; ++r) {
      for (std::size_t c = 0; c < C; c += 2) x[r * C + c] = 3.3f + float(c);
    }
  }
  if (kind == Inputs::Kind::non_finite && C >= 3) {
    // Channel 1 gets a NaN, channel 2 an inf: each poisons its own channel only (mean, variance,
    // y, running statistics and dx become NaN, as in PyTorch); dbeta = Σdy stays finite.
    x[(N / 2) * C + 1] = std::numeric_limits<float>::quiet_NaN();
    x[(N - 1) * C + 2] = std::numeric_limits<float>::infinity();
  }
  return x;
}

using bn_checks::check_within;

// Runs `steps` training steps (forward; backward after the last) and checks everything written.
void check_training(std::size_t N, std::size_t C, const Inputs& in, int steps, uint64_t seed) {
  Context& ctx = context();
  std::ostringstream where;
  where << "N " << N << ", C " << C << ", affine " << in.affine << ", kind " << int(in.kind);
  INFO(where.str());
  const BatchNormOptions options = BatchNormOptions(in.options).set_affine(in.affine).set_training(true);
  const auto gamma = uniform(C, 0.5f, 2.0f, seed + 1), beta = uniform(C, -1.0f, 1.0f, seed + 2);
  const auto rm0 = uniform(C, -1.0f, 1.0f, seed + 3), rv0 = uniform(C, 0.5f, 2.0f, seed + 4);
  Tensor tgamma = Tensor::from(ctx, {C}, gamma), tbeta = Tensor::from(ctx, {C}, beta);
  Tensor trm = Tensor::from(ctx, {C}, rm0), trv = Tensor::from(ctx, {C}, rv0);
  Tensor tmean(ctx, {C}), tinvstd(ctx, {C}), ty(ctx, {N, C});
  std::vector<double> rm = to_double(rm0), rv = to_double(rv0), running_scale(C, 0.0);
  const std::vector<double> gd = to_double(gamma), bd = to_double(beta);
  const double* gp = in.affine ? gd.data() : nullptr;
  const double* bp = in.affine ? bd.data() : nullptr;

  std::vector<float> x;
  for (int s = 0; s < steps; ++s) {
    x = make_x(N, C, in.kind, seed + 10 + s);
    Tensor tx = Tensor::from(ctx, {N, C}, x);
    ty.fill(poison);
    tmean.fill(poison);
    tinvstd.fill(poison);
    CommandList cmd(ctx);
    batchnorm_forward(cmd, tx, tgamma, tbeta, trm, trv, tmean, tinvstd, ty, options);
    cmd.run();
    require_no_validation_messages();

    const auto xd = to_double(x);
    std::vector<double> y(N * C), mean(C), invstd(C), var_unbiased(C);
    ref::batchnorm_forward_train(xd.data(), N, C, gp, bp, options.eps, y.data(), mean.data(), invstd.data(),
                                 var_unbiased.data());
    ref::batchnorm_update_running(rm.data(), rv.data(), mean.data(), var_unbiased.data(), C, options.momentum);

    // y = xhat·gamma + beta can cancel to ~0, so the bound is relative to |xhat·gamma| + |beta|: the
    // float32 errors of mean, invstd and the products are ~1e-7 relative to those terms.
    std::vector<double> y_allowed(N * C), mean_abs(C, 0.0);
    for (std::size_t i = 0; i < N * C; ++i) {
      const std::size_t c = i % C;
      const double xhat = (xd[i] - mean[c]) * invstd[c];
      y_allowed[i] = 1e-6 + 1e-5 * (std::fabs(xhat * (gp ? gp[c] : 1)) + std::fabs(bp ? bp[c] : 0));
      mean_abs[c] += std::fabs(xd[i]) / N;
    }
    INFO("step " << s);
    check_within("y", ty.to_vector(), y, y_allowed);
    // The mean is a sum: its error is relative to mean(|x|), not to |mean|.
    std::vector<double> mean_allowed(C), invstd_allowed(C);
    for (std::size_t c = 0; c < C; ++c) {
      mean_allowed[c] = 1e-6 + 1e-5 * mean_abs[c];
      invstd_allowed[c] = 1e-6 + 1e-5 * invstd[c];
      running_scale[c] = std::max(running_scale[c], mean_abs[c]);
    }
    check_within("save_mean", tmean.to_vector(), mean, mean_allowed);
    check_within("save_invstd", tinvstd.to_vector(), invstd, invstd_allowed);
  }
  // Running statistics after all steps: the running mean inherits the batch means' error, relative
  // to mean(|x|).
  std::vector<double> rm_allowed(C), rv_allowed(C);
  for (std::size_t c = 0; c < C; ++c) {
    rm_allowed[c] = 1e-6 + 1e-5 * (std::fabs(rm[c]) + running_scale[c]);
    rv_allowed[c] = 1e-6 + 1e-5 * std::fabs(rv[c]);
  }
  check_within("running_mean", trm.to_vector(), rm, rm_allowed);
  check_within("running_var", trv.to_vector(), rv, rv_allowed);

  // Backward of the last step, from the statistics the GPU saved (the backward's own inputs).
  const auto dy = uniform(N * C, -1.0f, 1.0f, seed + 5);
  Tensor tx = Tensor::from(ctx, {N, C}, x), tdy = Tensor::from(ctx, {N, C}, dy);
  Tensor tdx(ctx, {N, C}), tdgamma(ctx, {C}), tdbeta(ctx, {C});
  tdx.fill(poison);
  tdgamma.fill(poison);
  tdbeta.fill(poison);
  CommandList cmd(ctx);
  batchnorm_backward(cmd, tx, tdy, tmean, tinvstd, tgamma, tdx, tdgamma, tdbeta, options);
  cmd.run();
  require_no_validation_messages();
  const auto xd = to_double(x), dyd = to_double(dy);
  const auto mean = to_double(tmean.to_vector()), invstd = to_double(tinvstd.to_vector());
  std::vector<double> dx(N * C), dgamma(C), dbeta(C);
  ref::batchnorm_backward(xd.data(), dyd.data(), N, C, mean.data(), invstd.data(), gp, dx.data(), dgamma.data(),
                          dbeta.data());
  // Sums over N rows in float32: errors relative to the sums of the terms' magnitudes.
  std::vector<double> abs_dy(C, 0.0), abs_dyx(C, 0.0);
  for (std::size_t i = 0; i < N * C; ++i) {
    const std::size_t c = i % C;
    abs_dy[c] += std::fabs(dyd[i]);
    abs_dyx[c] += std::fabs(dyd[i] * (xd[i] - mean[c]) * invstd[c]);
  }
  std::vector<double> dx_allowed(N * C), dgamma_allowed(C), dbeta_allowed(C);
  for (std::size_t i = 0; i < N * C; ++i) {
    const std::size_t c = i % C;
    const double xhat = (xd[i] - mean[c]) * invstd[c];
    dx_allowed[i] = 1e-6 + 1e-5 * std::fabs(gp ? gp[c] : 1) * invstd[c] *
                               (std::fabs(dyd[i]) + abs_dy[c] / N + std::fabs(xhat) * abs_dyx[c] / N);
  }
  check_within("dx", tdx.to_vector(), dx, dx_allowed);
  if (in.affine) {
    for (std::size_t c = 0; c < C; ++c) {
      dgamma_allowed[c] = 1e-6 + 1e-5 * abs_dyx[c];
      dbeta_allowed[c] = 1e-6 + 1e-5 * abs_dy[c];
    }
    check_within("dgamma", tdgamma.to_vector(), dgamma, dgamma_allowed);
    check_within("dbeta", tdbeta.to_vector(), dbeta, dbeta_allowed);
  } else {
    // Without affine, dgamma and dbeta are not written: the poison stays.
    for (float v : tdgamma.to_vector()) CHECK(std::isnan(v));
  }
}

}  // namespace

TEST_CASE("batchnorm training forward, running statistics and backward", "[batchnorm]") {
  for_each_reduction_layout([&] {
    const Inputs plain{};
    check_training(2, 10, plain, 3, 100);
    check_training(7, 1, plain, 2, 200);
    check_training(7, 255, plain, 3, 300);
    check_training(128, 512, plain, 3, 400);
    check_training(257, 10, plain, 2, 500);
    check_training(257, 33, plain, 1, 600);
    check_training(2053, 512, plain, 1, 700);  // 1,051,136 elements
  });
}

TEST_CASE("batchnorm with options: no affine, other momentum and eps", "[batchnorm]") {
  for_each_reduction_layout([&] {
    Inputs in{};
    in.affine = false;
    check_training(128, 10, in, 2, 800);
    in.affine = true;
    in.options.set_momentum(0.3f).set_eps(1e-3f);
    check_training(257, 255, in, 3, 900);
  });
}

TEST_CASE("batchnorm on a device that allows only 3 workgroups per dimension", "[batchnorm]") {
  // More channel tiles (32 channels each in the workgroup layout) and quads than 3 workgroups
  // cover: each workgroup loops over several, the last one partial.
  for_each_reduction_layout([&] {
    limit_workgroup_count(3);
    const Inputs plain{};
    check_training(7, 255, plain, 2, 1000);
    check_training(33, 130, plain, 1, 1100);
  });
}

TEST_CASE("batchnorm statistics are stable for large offsets and constant columns", "[batchnorm]") {
  for_each_reduction_layout([&] {
    Inputs in{};
    in.kind = Inputs::Kind::large_offset;
    check_training(257, 10, in, 2, 1000);
    check_training(4096, 33, in, 1, 1100);
    in.kind = Inputs::Kind::constant_columns;
    check_training(2, 10, in, 2, 1200);
    check_training(257, 255, in, 2, 1300);
  });
}

TEST_CASE("batchnorm propagates NaN and inf to their channel only", "[batchnorm]") {
  for_each_reduction_layout([&] {
    Inputs in{};
    in.kind = Inputs::Kind::non_finite;
    check_training(7, 10, in, 2, 1400);
    check_training(257, 33, in, 1, 1500);
  });
}

TEST_CASE("batchnorm is deterministic: repeated runs are bit-identical", "[batchnorm]") {
  for_each_reduction_layout([&] {
    Context& ctx = context();
    const std::size_t N = 1000, C = 37;
    const auto x = uniform(N * C, -3.0f, 3.0f, 1), dy = uniform(N * C, -1.0f, 1.0f, 2);
    Tensor tx = Tensor::from(ctx, {N, C}, x), tdy = Tensor::from(ctx, {N, C}, dy);
    Tensor g = Tensor::from(ctx, {C}, uniform(C, 0.5f, 2.0f, 3)),
           b = Tensor::from(ctx, {C}, uniform(C, -1.0f, 1.0f, 4));
    std::vector<std::vector<float>> results[2];
    for (auto& result : results) {
      Tensor rm(ctx, {C}), rv(ctx, {C}), m(ctx, {C}), s(ctx, {C}), y(ctx, {N, C}), dx(ctx, {N, C}), dg(ctx, {C}),
          db(ctx, {C});
      rm.fill(0.0f);
      rv.fill(1.0f);
      CommandList cmd(ctx);
      batchnorm_forward(cmd, tx, g, b, rm, rv, m, s, y);
      batchnorm_backward(cmd, tx, tdy, m, s, g, dx, dg, db);
      cmd.run();
      require_no_validation_messages();
      for (const Tensor* t : {&rm, &rv, &m, &s, &y, &dx, &dg, &db}) result.push_back(t->to_vector());
    }
    CHECK(results[0] == results[1]);
  });
}

TEST_CASE("batchnorm eval mode uses the running statistics", "[batchnorm]") {
  Context& ctx = context();
  for (auto [N, C] : {std::pair<std::size_t, std::size_t>{1, 10}, {7, 255}, {257, 512}}) {
    for (bool affine : {true, false}) {
      INFO("N " << N << ", C " << C << ", affine " << affine);
      const auto x = uniform(N * C, -3.0f, 3.0f, N + C), gamma = uniform(C, 0.5f, 2.0f, 1);
      const auto beta = uniform(C, -1.0f, 1.0f, 2), rm = uniform(C, -1.0f, 1.0f, 3);
      auto rv = uniform(C, 0.0f, 2.0f, 4);
      rv[0] = 0.0f;  // a dead channel: only eps keeps it finite
      Tensor tx = Tensor::from(ctx, {N, C}, x), tg = Tensor::from(ctx, {C}, gamma), tb = Tensor::from(ctx, {C}, beta);
      Tensor trm = Tensor::from(ctx, {C}, rm), trv = Tensor::from(ctx, {C}, rv), ty(ctx, {N, C}), none;
      ty.fill(poison);
      CommandList cmd(ctx);
      const auto options = BatchNormOptions{}.set_training(false).set_affine(affine);
      if (affine)
        batchnorm_forward(cmd, tx, tg, tb, trm, trv, none, none, ty, options);
      else
        batchnorm_forward(cmd, tx, none, none, trm, trv, none, none, ty, options);
      cmd.run();
      require_no_validation_messages();
      const auto xd = to_double(x), gd = to_double(gamma), bd = to_double(beta), rmd = to_double(rm),
                 rvd = to_double(rv);
      std::vector<double> y(N * C), allowed(N * C);
      ref::batchnorm_forward_eval(xd.data(), N, C, affine ? gd.data() : nullptr, affine ? bd.data() : nullptr,
                                  rmd.data(), rvd.data(), 1e-5, y.data());
      for (std::size_t i = 0; i < N * C; ++i) {  // as in training: relative to the terms of y
        const std::size_t c = i % C;
        const double scaled = (std::fabs(xd[i]) + std::fabs(rmd[c])) / std::sqrt(rvd[c] + 1e-5);
        allowed[i] = 1e-6 + 1e-5 * (affine ? scaled * gd[c] + std::fabs(bd[c]) : scaled);
      }
      check_within("y", ty.to_vector(), y, allowed);
      CHECK(trm.to_vector() == rm);  // untouched
      CHECK(trv.to_vector() == rv);
    }
  }
}

TEST_CASE("batchnorm refuses one row in training and mismatched shapes", "[batchnorm]") {
  Context& ctx = context();
  Tensor x(ctx, {1, 4}), g(ctx, {4}), b(ctx, {4}), rm(ctx, {4}), rv(ctx, {4}), m(ctx, {4}), s(ctx, {4}), y(ctx, {1, 4});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(batchnorm_forward(cmd, x, g, b, rm, rv, m, s, y),
                    Catch::Contains("more than 1 value per channel") && Catch::Contains("[1, 4]"));
  Tensor x2(ctx, {3, 5}), y2(ctx, {3, 5});
  CHECK_THROWS_WITH(batchnorm_forward(cmd, x2, g, b, rm, rv, m, s, y2),
                    Catch::Contains("running_mean") && Catch::Contains("[3, 5]"));
  Tensor x3(ctx, {3, 4}), y3(ctx, {4, 3});
  CHECK_THROWS_AS(batchnorm_forward(cmd, x3, g, b, rm, rv, m, s, y3), InvalidArgument);
}

TEST_CASE("batchnorm reference backward matches finite differences", "[batchnorm][reference]") {
  // L = Σ w·y for fixed random w, so dL/dy = w; every derivative against central differences.
  for (const auto& shape : {std::pair<std::size_t, std::size_t>{2, 3}, {5, 2}, {33, 3}}) {
    // Named variables, not a structured binding: the loss lambda captures them (clang before 16
    // cannot capture structured bindings).
    const std::size_t N = shape.first, C = shape.second;
    INFO("N " << N << ", C " << C);
    auto x = to_double(uniform(N * C, -2.0f, 2.0f, 7 * N + C));
    auto gamma = to_double(uniform(C, 0.5f, 2.0f, 8)), beta = to_double(uniform(C, -1.0f, 1.0f, 9));
    const auto w = to_double(uniform(N * C, -1.0f, 1.0f, 10));
    const double eps = 1e-5;
    const auto loss = [&] {
      std::vector<double> y(N * C), m(C), s(C), v(C);
      ref::batchnorm_forward_train(x.data(), N, C, gamma.data(), beta.data(), eps, y.data(), m.data(), s.data(),
                                   v.data());
      double l = 0;
      for (std::size_t i = 0; i < N * C; ++i) l += w[i] * y[i];
      return l;
    };
    std::vector<double> y(N * C), mean(C), invstd(C), var(C), dx(N * C), dgamma(C), dbeta(C);
    ref::batchnorm_forward_train(x.data(), N, C, gamma.data(), beta.data(), eps, y.data(), mean.data(), invstd.data(),
                                 var.data());
    ref::batchnorm_backward(x.data(), w.data(), N, C, mean.data(), invstd.data(), gamma.data(), dx.data(),
                            dgamma.data(), dbeta.data());
    const auto numeric = [&](double& v) { return bn_checks::central_difference(loss, v); };
    // Central differences: truncation O(h²) plus rounding ~1e-16·|L|/h ≈ 1e-9 here.
    for (std::size_t i = 0; i < N * C; ++i) CHECK(close(dx[i], numeric(x[i]), 1e-6, 1e-7));
    for (std::size_t c = 0; c < C; ++c) {
      CHECK(close(dgamma[c], numeric(gamma[c]), 1e-6, 1e-7));
      CHECK(close(dbeta[c], numeric(beta[c]), 1e-6, 1e-7));
    }
  }
}

}  // namespace vkgrad::test
