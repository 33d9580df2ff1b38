// nn.Linear on the GEMM kernels (include/vkgrad/linear.hpp): the fused forward (bias + activation
// epilogue) against the double reference and against the same computation as separate ops, and
// the backward pass (dX, dW, db) overwriting and accumulating. Tagged [gemm]: it is that area's op.
#include "vkgrad/linear.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <sstream>

#include "gemm_tiles.hpp"
#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/activation_ref.hpp"
#include "reference/gemm_ref.hpp"

namespace vkgrad::test {
namespace {

// Per-element bound of a sum of products, relative to Σ|terms|: see the error model in gemm_test.cpp.
constexpr double kSumRtol = 1e-5;
constexpr double kAtol = 1e-6;
// The activations tested here have |f'| ≤ 1.13 (gelu's largest slope, at x ≈ 0.75), so an error e
// in the pre-activation becomes at most 1.13·e after it; f itself adds its own table tolerance.
constexpr double kMaxSlope = 1.13;

struct Worst {
  std::size_t bad = 0;
  double ratio = 0, got = 0, expected = 0;
  std::size_t index = 0;
};

Worst count_mismatches(const std::vector<float>& got, const std::vector<double>& ref,
                       const std::vector<double>& allowed, const std::vector<bool>* skip = nullptr) {
  Worst w;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (skip && (*skip)[i]) continue;
    const bool ok = close(got[i], ref[i], 0.0, allowed[i]);
    w.bad += ok ? 0 : 1;
    // The worst element over all of them, passing or not, so the margin of a passing test shows too.
    const bool both_finite = std::isfinite(got[i]) && std::isfinite(ref[i]);
    const double ratio = both_finite ? std::fabs(got[i] - ref[i]) / allowed[i] : ok ? 0.0 : INFINITY;
    if (ratio > w.ratio) w = {w.bad, ratio, got[i], ref[i], i};
  }
  return w;
}

void check_all(const char* name, const std::vector<float>& got, const std::vector<double>& ref,
               const std::vector<double>& allowed, const std::vector<bool>* skip = nullptr) {
  const Worst w = count_mismatches(got, ref, allowed, skip);
  INFO(name << ": " << w.bad << " mismatches, worst at " << w.index << ": got " << w.got << " expected " << w.expected
            << " (" << w.ratio << "× the allowed error)");
  CHECK(w.bad == 0);
}

void check_linear_forward(std::size_t N, std::size_t in, std::size_t out, bool with_bias, ActivationSpec act,
                          uint64_t seed) {
  Context& ctx = context();
  std::ostringstream what;
  what << "linear_forward N=" << N << " in=" << in << " out=" << out << (with_bias ? " with bias, " : " no bias, ")
       << act.to_string();
  INFO(what.str());
  const auto x = uniform(N * in, -1, 1, seed);
  const auto w = uniform(out * in, -1, 1, seed + 1);
  const auto b = uniform(out, -1, 1, seed + 2);
  Tensor tX = Tensor::from(ctx, {N, in}, x), tW = Tensor::from(ctx, {out, in}, w);
  Tensor tb = with_bias ? Tensor::from(ctx, {out}, b) : Tensor();
  Tensor fused(ctx, {N, out}), unfused(ctx, {N, out}), activated(ctx, {N, out});
  // The same computation as separate ops: the product, the bias as a rank-1 update
  // ones(N×1)·b(1×out) added with beta = 1, then the activation.
  Tensor ones = Tensor::from(ctx, {N, 1}, std::vector<float>(N, 1.0f));
  Tensor b_row = Tensor::from(ctx, {1, out}, b);
  for (Tensor* t : {&fused, &unfused, &activated}) t->fill(poison);
  CommandList cmd(ctx);
  linear_forward(cmd, tX, tW, tb, fused, act);
  gemm(cmd, tX, tW, unfused, false, true);
  if (with_bias) gemm(cmd, ones, b_row, unfused, false, false, 1, 1);
  activation_forward(cmd, act, unfused, activated);
  cmd.run();
  require_no_validation_messages();

  std::vector<double> pre(N * out), mag(N * out), ref(N * out), allowed(N * out);
  ref::linear_forward(x.data(), w.data(), with_bias ? b.data() : nullptr, pre.data(), N, in, out);
  ref::gemm_magnitude(x.data(), w.data(), mag.data(), N, out, in, false, true);
  const auto& info = activation_info(act.kind);
  std::vector<bool> ambiguous(N * out, false);
  for (std::size_t i = 0; i < N * out; ++i) {
    const double pre_error = kSumRtol * (mag[i] + (with_bias ? std::fabs(double(b[i % out])) : 0.0)) + kAtol;
    const bool zeroed = act.sparse && pre[i] <= act.theta;
    ref[i] = zeroed ? 0.0 : ref::activation_forward(uint32_t(act.kind), pre[i], act.params[0], act.params[1]);
    allowed[i] = kMaxSlope * pre_error + info.forward_atol + info.forward_rtol * std::fabs(ref[i]);
    // Within rounding of the sparse cutoff either side is a correct answer.
    ambiguous[i] = act.sparse && std::fabs(pre[i] - act.theta) <= pre_error;
  }
  const auto got = fused.to_vector();
  check_all("fused vs reference", got, ref, allowed, &ambiguous);
  // Fused and unfused round the same sums in the same order (same tiles, same epilogue order:
  // acc + b, then f), so they agree to the last bits; 1e-6 relative allows a compiler contracting
  // one of them into an fma.
  const auto separate = activated.to_vector();
  std::vector<double> separate_d(separate.begin(), separate.end()), tight(N * out);
  for (std::size_t i = 0; i < N * out; ++i) tight[i] = 1e-7 + 1e-6 * std::fabs(separate_d[i]);
  check_all("fused vs separate ops", got, separate_d, tight);
}

void check_linear_backward(std::size_t N, std::size_t in, std::size_t out, bool accumulate, bool want_dx, bool want_db,
                           uint64_t seed) {
  Context& ctx = context();
  std::ostringstream what;
  what << "linear_backward N=" << N << " in=" << in << " out=" << out << (accumulate ? " accumulate" : " overwrite")
       << (want_dx ? "" : ", no dX") << (want_db ? "" : ", no db");
  INFO(what.str());
  const auto x = uniform(N * in, -1, 1, seed);
  const auto w = uniform(out * in, -1, 1, seed + 1);
  const auto dy = uniform(N * out, -1, 1, seed + 2);
  const auto dw0 = uniform(out * in, -1, 1, seed + 3);
  const auto db0 = uniform(out, -1, 1, seed + 4);
  Tensor tX = Tensor::from(ctx, {N, in}, x), tW = Tensor::from(ctx, {out, in}, w);
  Tensor tdY = Tensor::from(ctx, {N, out}, dy);
  Tensor tdX = want_dx ? Tensor(ctx, {N, in}) : Tensor();
  Tensor tdW(ctx, {out, in});
  Tensor tdb = want_db ? Tensor(ctx, {out}) : Tensor();
  if (want_dx) tdX.fill(poison);
  if (accumulate) {
    tdW.upload(dw0);
    if (want_db) tdb.upload(db0);
  } else {
    tdW.fill(poison);
    if (want_db) tdb.fill(poison);
  }
  CommandList cmd(ctx);
  linear_backward(cmd, tX, tW, tdY, tdX, tdW, tdb, accumulate);
  // Accumulating: replaying the list adds the gradient a second time, as for two micro-batches.
  const int runs = accumulate ? 2 : 1;
  for (int r = 0; r < runs; ++r) cmd.run();
  require_no_validation_messages();

  std::vector<double> dx(N * in), dw(out * in), db(out);
  ref::linear_backward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), N, in, out);
  std::vector<double> dx_mag(N * in), dw_mag(out * in), db_mag(out, 0.0);
  ref::gemm_magnitude(dy.data(), w.data(), dx_mag.data(), N, in, out, false, false);
  ref::gemm_magnitude(dy.data(), x.data(), dw_mag.data(), out, in, N, true, false);
  for (std::size_t i = 0; i < N * out; ++i) db_mag[i % out] += std::fabs(dy[i]);

  std::vector<double> dw_ref(out * in), dw_allowed(out * in), db_ref(out), db_allowed(out);
  for (std::size_t i = 0; i < out * in; ++i) {
    dw_ref[i] = runs * dw[i] + (accumulate ? dw0[i] : 0.0);
    dw_allowed[i] = kSumRtol * (runs * dw_mag[i] + (accumulate ? std::fabs(dw0[i]) : 0.0)) + kAtol;
  }
  for (std::size_t o = 0; o < out; ++o) {
    db_ref[o] = runs * db[o] + (accumulate ? db0[o] : 0.0);
    db_allowed[o] = kSumRtol * (runs * db_mag[o] + (accumulate ? std::fabs(db0[o]) : 0.0)) + kAtol;
  }
  const auto got_dw = tdW.to_vector();
  check_all("got_dw", got_dw, dw_ref, dw_allowed);
  if (want_db) {
    const auto got_db = tdb.to_vector();
    check_all("got_db", got_db, db_ref, db_allowed);
  }
  if (want_dx) {
    std::vector<double> dx_allowed(N * in);
    for (std::size_t i = 0; i < N * in; ++i) dx_allowed[i] = kSumRtol * dx_mag[i] + kAtol;
    const auto got_dx = tdX.to_vector();
    check_all("got_dx", got_dx, dx, dx_allowed);  // overwritten even when accumulating
  }
}

}  // namespace

TEST_CASE("linear_forward with identity, relu and gelu epilogues, with and without bias", "[gemm][linear]") {
  for_each_gemm_path([] {
    uint64_t seed = 100;
    for (const Activation a : {Activation::identity, Activation::relu, Activation::gelu}) {
      for (bool bias : {true, false}) {
        check_linear_forward(1, 7, 5, bias, a, seed++);  // batch of one: the thin tile
        check_linear_forward(37, 70, 129, bias, a, seed++);
        check_linear_forward(130, 33, 3, bias, a, seed++);  // few outputs: the tall tile
        // out % 4 == 0: the broadcast path's 4-column epilogue (store_result4), here with a last
        // group of 8 columns that is half outside the result (44 = 5·8 + 4).
        check_linear_forward(37, 70, 44, bias, a, seed++);
      }
    }
  });
}

TEST_CASE("linear_forward with a parametrised and a sparse activation", "[gemm][linear]") {
  for_each_gemm_path([] {
    check_linear_forward(20, 31, 40, true, ActivationSpec(Activation::leaky_relu).set("negative_slope", 0.2f), 120);
    check_linear_forward(20, 31, 40, true, ActivationSpec(Activation::gelu).sparse_threshold(0.1f), 121);
  });
}

TEST_CASE("linear_forward with more rows than 65535 workgroups of blocks cover", "[gemm][linear]") {
  // 600,000 rows: 75,000 blocks of 8 rows on the direct path, more than the 65,535 workgroups per
  // dimension every device allows, so the grid is capped and the main loop strides over the blocks.
  for_each_gemm_path([] {
    check_linear_forward(600000, 8, 10, true, Activation::relu, 130);
    check_linear_forward(600000, 3, 5, false, Activation::gelu, 131);
  });
}

TEST_CASE("linear on a device that allows only 3 workgroups per dimension", "[gemm][linear]") {
  // More than 3 blocks in both dimensions of every product (forward, dX, dW) on every path, and
  // more than 3 column tiles of the bias gradient in both layouts: each kernel loops over the work
  // its grid does not cover, with partial last blocks; accumulating catches a block done twice.
  for (const auto path : kernel_set_gemm_paths()) {
    for (const auto layout : {RowReductions::workgroup, RowReductions::per_invocation}) {
      INFO(to_string(path) << " GEMM path, " << to_string(layout) << " reduction layout");
      ScopedContext scoped([path, layout](ContextOptions& o) {
        o.gemm_path = path;
        o.row_reductions = layout;
      });
      limit_workgroup_count(3);
      check_linear_forward(203, 37, 301, true, Activation::relu, 140);
      check_linear_forward(200, 8, 300, true, Activation::identity, 141);  // multiples of 4: vec4 paths
      check_linear_backward(203, 37, 301, false, true, true, 142);
      check_linear_backward(200, 40, 300, true, true, true, 143);
    }
  }
}

// The bias gradient has two layouts (lib/reduction_layout.hpp): both run on every GEMM path.
TEST_CASE("linear_backward overwrites dX, dW and db", "[gemm][linear]") {
  for_each_gemm_path([] {
    for_each_reduction_layout([] {
      check_linear_backward(1, 1, 1, false, true, true, 200);
      check_linear_backward(7, 5, 3, false, true, true, 201);
      check_linear_backward(257, 70, 33, false, true, true, 202);
      check_linear_backward(1031, 9, 5, false, true, true, 203);
      check_linear_backward(130, 20, 44, false, true, true, 204);  // out % 4 == 0: db by vec4 rows
    });
  });
}

TEST_CASE("linear_backward accumulates into dW and db", "[gemm][linear]") {
  for_each_gemm_path([] {
    for_each_reduction_layout([] {
      check_linear_backward(7, 5, 3, true, true, true, 210);
      check_linear_backward(129, 65, 40, true, true, true, 211);
    });
  });
}

TEST_CASE("linear_backward skips an empty dX or db", "[gemm][linear]") {
  for_each_reduction_layout([] {
    check_linear_backward(33, 17, 9, false, false, true, 220);
    check_linear_backward(33, 17, 9, false, true, false, 221);
    check_linear_backward(33, 17, 9, true, false, false, 222);
  });
}

TEST_CASE("linear_backward gives the same bits on every run", "[gemm][linear]") {
  // No atomics: the sums are added in a fixed order, so two runs agree exactly (not just closely).
  Context& ctx = context();
  const std::size_t N = 1031, in = 40, out = 70;
  Tensor X = Tensor::from(ctx, {N, in}, uniform(N * in, -1, 1, 230));
  Tensor W = Tensor::from(ctx, {out, in}, uniform(out * in, -1, 1, 231));
  Tensor dY = Tensor::from(ctx, {N, out}, uniform(N * out, -1, 1, 232));
  std::vector<float> first[3];
  for (int run = 0; run < 2; ++run) {
    Tensor dX(ctx, {N, in}), dW(ctx, {out, in}), db(ctx, {out});
    CommandList cmd(ctx);
    linear_backward(cmd, X, W, dY, dX, dW, db);
    cmd.run();
    require_no_validation_messages();
    const std::vector<float> got[3] = {dX.to_vector(), dW.to_vector(), db.to_vector()};
    for (int i = 0; i < 3; ++i) {
      if (run == 0)
        first[i] = got[i];
      else
        CHECK(std::memcmp(first[i].data(), got[i].data(), got[i].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("linear refuses mismatching shapes and names them all", "[gemm][linear]") {
  Context& ctx = context();
  Tensor X(ctx, {8, 5}), W(ctx, {3, 5}), W_bad(ctx, {3, 6}), b(ctx, {3}), b_bad(ctx, {4}), Y(ctx, {8, 3});
  Tensor dY(ctx, {8, 3}), dX(ctx, {8, 5}), dW(ctx, {3, 5}), dW_bad(ctx, {5, 3}), db(ctx, {3}), none;
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(linear_forward(cmd, X, W_bad, b, Y), Catch::Contains("[8, 5]") && Catch::Contains("[3, 6]") &&
                                                             Catch::Contains("[3]") && Catch::Contains("[8, 3]"));
  CHECK_THROWS_WITH(linear_forward(cmd, X, W, b_bad, Y), Catch::Contains("b [4]"));
  CHECK_THROWS_WITH(linear_forward(cmd, X, W, none, X), Catch::Contains("Y [8, 5]"));
  CHECK_THROWS_WITH(linear_backward(cmd, X, W, dY, dX, dW_bad, db),
                    Catch::Contains("dW [5, 3]") && Catch::Contains("W [3, 5]") && Catch::Contains("dY [8, 3]"));
  CHECK_THROWS_WITH(linear_backward(cmd, X, W, dY, dX, dW, b_bad), Catch::Contains("db [4]"));
  CHECK_THROWS_WITH(linear_backward(cmd, X, W, dY, dY, dW, db), Catch::Contains("dX [8, 3]"));
  CHECK_THROWS_WITH(linear_backward(cmd, X, W, dY, none, W, db), Catch::Contains("same tensor"));
  // Outputs aliasing each other, or the bias, are refused too.
  Tensor square(ctx, {5, 5}), X5(ctx, {5, 5}), dY5(ctx, {5, 5}), grad(ctx, {5, 5});
  CHECK_THROWS_WITH(linear_backward(cmd, X5, square, dY5, grad, grad, none),
                    Catch::Contains("'dX' must not be the same tensor as 'dW'"));
  Tensor x1(ctx, {1, 5}), y1(ctx, {1, 5});
  CHECK_THROWS_WITH(linear_forward(cmd, x1, square, y1, y1), Catch::Contains("'Y' must not be the same tensor as 'b'"));
  CHECK(cmd.dispatch_count() == 0);
}

}  // namespace vkgrad::test
