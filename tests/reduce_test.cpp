// Softmax and log_softmax, forward and backward, against the double references
// (tests/reference/reduce_ref.cpp) on awkward sizes, extreme rows and a case over 1M elements.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <sstream>
#include <vkgrad/reduce.hpp>

#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/reduce_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Rows 0..5 (when present) are extreme: ±1e4, some -inf, one NaN, one +inf, all -inf, tiny values.
void make_extreme_rows(std::vector<float>& x, std::size_t N, std::size_t C, uint64_t seed) {
  if (N < 6) return;
  const auto big = uniform(C, -1e4f, 1e4f, seed + 9);
  std::copy(big.begin(), big.end(), x.begin());
  for (std::size_t c = 0; c < C; c += 3) x[C + c] = -inf;
  x[2 * C + C / 2] = nan;
  x[3 * C] = inf;
  std::fill(x.begin() + 4 * C, x.begin() + 5 * C, -inf);
  const float tiny[] = {1e-40f, 0.0f, -0.0f, -1e-45f};
  for (std::size_t c = 0; c < C; ++c) x[5 * C + c] = tiny[c % 4];
}

// Per-element bound for the backward pass: both formulas subtract a row sum S computed in float
// (a fixed tree over C terms: error <= ~log2(C)·2^-24·Σ|terms|), so the error of dx_i scales with
// the magnitudes of what is combined, not with |dx_i|, which may cancel to ~0:
//   softmax:     |y_i|·(|dy_i| + Σ_j |dy_j y_j|)      log_softmax: |dy_i| + e^y_i·Σ_j |dy_j|
// 1e-5 relative to that magnitude is ~10x the worst case for C ≈ 1000.
std::vector<double> backward_magnitude(const std::vector<float>& y, const std::vector<float>& dy, std::size_t N,
                                       std::size_t C, bool log) {
  std::vector<double> mag(N * C);
  for (std::size_t n = 0; n < N; ++n) {
    double s = 0;
    for (std::size_t c = 0; c < C; ++c) {
      const std::size_t i = n * C + c;
      s += log ? std::fabs(double(dy[i])) : std::fabs(double(dy[i]) * y[i]);
    }
    for (std::size_t c = 0; c < C; ++c) {
      const std::size_t i = n * C + c;
      mag[i] = log ? std::fabs(double(dy[i])) + std::exp(double(y[i])) * s
                   : std::fabs(double(y[i])) * (std::fabs(double(dy[i])) + s);
    }
  }
  return mag;
}

void check_softmax(std::size_t N, std::size_t C, bool log, uint64_t seed) {
  Context& ctx = context();
  const std::size_t n = N * C;
  auto x = uniform(n, -8.0f, 8.0f, seed);
  make_extreme_rows(x, N, C, seed);
  const auto dy = uniform(n, -1.0f, 1.0f, seed + 1);
  std::ostringstream where;
  where << (log ? "log_softmax" : "softmax") << " (" << N << ", " << C << ")";
  INFO(where.str());

  Tensor tx = Tensor::from(ctx, {N, C}, x), ty(ctx, {N, C});
  ty.fill(poison);
  CommandList forward(ctx);
  if (log)
    log_softmax_forward(forward, tx, ty);
  else
    softmax_forward(forward, tx, ty);
  forward.run();
  require_no_validation_messages();
  const auto y = ty.to_vector();
  std::vector<double> y_ref(n);
  ref::softmax_forward(to_double(x).data(), y_ref.data(), N, C, log);
  const auto ym = compare(y, y_ref, 1e-5, 1e-6);
  INFO("forward: " << ym.count << " mismatches, worst at " << ym.worst_index << ": got " << ym.got << " expected "
                   << ym.expected);
  CHECK(ym.count == 0);

  // Backward from the GPU's own y, so it is checked in isolation.
  Tensor tdy = Tensor::from(ctx, {N, C}, dy), tdx(ctx, {N, C});
  tdx.fill(poison);
  CommandList backward(ctx);
  if (log)
    log_softmax_backward(backward, ty, tdy, tdx);
  else
    softmax_backward(backward, ty, tdy, tdx);
  backward.run();
  require_no_validation_messages();
  std::vector<double> dx_ref(n);
  ref::softmax_backward(to_double(y).data(), to_double(dy).data(), dx_ref.data(), N, C, log);
  const auto mag = backward_magnitude(y, dy, N, C, log);
  const auto dx = tdx.to_vector();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (close(dx[i], dx_ref[i], 1e-5, 1e-6 + 1e-5 * mag[i])) continue;
    if (++bad <= 5) UNSCOPED_INFO("dx[" << i << "]: got " << dx[i] << " expected " << dx_ref[i]);
  }
  CHECK(bad == 0);
}

// Sums: float32 accumulation error grows with Σ|terms|, not with |sum| (which may cancel to ~0).
// Per-invocation Kahan sums plus a tree of depth log2(256) keep the error near
// (log2(256) + 2)·2^-24·Σ|terms| ≈ 6e-7·Σ|terms|; 1e-5·Σ|terms| (÷ count for a mean) leaves margin
// without hiding a wrong element, which would be off by O(|term|). max is exact.
double sum_bound(const double* x, std::size_t n, std::size_t stride, int op) {
  if (op == 2) return 0.0;
  double mag = 0;
  for (std::size_t i = 0; i < n; ++i) mag += std::fabs(x[i * stride]);
  return 1e-5 * (op == 1 ? mag / double(n) : mag);
}

// x (N, C) with awkward values: ±1e4, zeros, denormals, and (when nan_row) one row/column holding NaN.
std::vector<float> reduction_input(std::size_t N, std::size_t C, uint64_t seed, bool with_nan) {
  auto x = uniform(N * C, -4.0f, 4.0f, seed);
  const float specials[] = {1e4f, -1e4f, 0.0f, -0.0f, 1e-40f, 3.0f, 3.0f};
  for (std::size_t i = 0; i < std::size(specials) && i * 13 < x.size(); ++i) x[i * 13] = specials[i];
  if (with_nan && x.size() > 20) x[x.size() / 2] = nan;
  return x;
}

void check_matrix_reductions(std::size_t N, std::size_t C, uint64_t seed) {
  Context& ctx = context();
  const auto x = reduction_input(N, C, seed, true);
  const auto xd = to_double(x);
  Tensor tx = Tensor::from(ctx, {N, C}, x);
  for (int op : {0, 1, 2}) {
    INFO("(" << N << ", " << C << ") op " << op);
    Tensor rows(ctx, {N}), cols(ctx, {C});
    rows.fill(poison);
    cols.fill(poison);
    CommandList cmd(ctx);
    reduce_rows(cmd, ReduceOp(op), tx, rows);
    reduce_columns(cmd, ReduceOp(op), tx, cols);
    cmd.run();
    require_no_validation_messages();
    const auto r = rows.to_vector(), c = cols.to_vector();
    const auto r_ref = ref::reduce_rows(xd.data(), N, C, op), c_ref = ref::reduce_columns(xd.data(), N, C, op);
    for (std::size_t i = 0; i < N; ++i) {
      INFO("row " << i << ": got " << r[i] << " expected " << r_ref[i]);
      CHECK(close(r[i], r_ref[i], 0.0, 1e-6 + sum_bound(xd.data() + i * C, C, 1, op)));
    }
    for (std::size_t j = 0; j < C; ++j) {
      INFO("column " << j << ": got " << c[j] << " expected " << c_ref[j]);
      CHECK(close(c[j], c_ref[j], 0.0, 1e-6 + sum_bound(xd.data() + j, N, C, op)));
    }
  }
}

void check_whole_tensor(std::size_t n, bool with_nan, uint64_t seed) {
  Context& ctx = context();
  const auto x = reduction_input(n, 1, seed, with_nan);
  const auto xd = to_double(x);
  Tensor tx = Tensor::from(ctx, {n}, x);
  ReduceWorkspace workspace(ctx);
  Tensor sum(ctx, {1}), mean(ctx, {1}), max(ctx, {1}), norm(ctx, {1});
  for (Tensor* t : {&sum, &mean, &max, &norm}) t->fill(poison);
  CommandList cmd(ctx);
  reduce_all(cmd, ReduceOp::sum, tx, sum, workspace);
  reduce_all(cmd, ReduceOp::mean, tx, mean, workspace);  // the same workspace: ordered by barriers
  reduce_all(cmd, ReduceOp::max, tx, max, workspace);
  squared_l2_norm(cmd, tx, norm, workspace);
  cmd.run();
  require_no_validation_messages();
  INFO("n " << n << (with_nan ? " with NaN" : ""));
  for (int op : {0, 1, 2}) {
    const float got = (op == 0 ? sum : op == 1 ? mean : max).to_vector()[0];
    const double expected = ref::reduce_all(xd.data(), n, op);
    INFO("op " << op << ": got " << got << " expected " << expected);
    CHECK(close(got, expected, 0.0, 1e-6 + sum_bound(xd.data(), n, 1, op)));
  }
  // Σx² has only non-negative terms: Σ|terms| is the result itself (the squares add 1 rounding each).
  const double norm_ref = ref::squared_l2_norm(xd.data(), n);
  INFO("squared norm: got " << norm.to_vector()[0] << " expected " << norm_ref);
  CHECK(close(norm.to_vector()[0], norm_ref, 1e-5, 1e-6));
  // Deterministic: a second run gives the same bits.
  const float first = sum.to_vector()[0];
  cmd.run();
  const float second = sum.to_vector()[0];
  CHECK((std::memcmp(&first, &second, sizeof first) == 0));
}

void check_argmax(std::size_t N, std::size_t C, uint64_t seed) {
  Context& ctx = context();
  // Few distinct values, so ties are common; one NaN row entry; one row of equal values.
  auto x = uniform(N * C, 0.0f, 4.0f, seed);
  for (auto& v : x) v = std::floor(v);
  if (N > 2 && C > 3) {
    x[C + C - 2] = nan;
    x[C + 1] = inf;
    std::fill(x.begin() + 2 * C, x.begin() + 3 * C, -inf);
  }
  Tensor tx = Tensor::from(ctx, {N, C}, x), index(ctx, {N}, DType::i32);
  index.fill(-7.0f);
  CommandList cmd(ctx);
  argmax_rows(cmd, tx, index);
  cmd.run();
  require_no_validation_messages();
  const auto xd = to_double(x);
  INFO("argmax (" << N << ", " << C << ")");
  CHECK(index.to_vector<int32_t>() == ref::argmax_rows(xd.data(), N, C));
}

}  // namespace

TEST_CASE("softmax forward and backward on awkward sizes", "[softmax][reduce]") {
  for_each_reduction_layout([] {
    check_softmax(1, 1, false, 1);
    check_softmax(3, 7, false, 2);
    check_softmax(6, 10, false, 3);
    check_softmax(7, 257, false, 4);
    check_softmax(9, 1031, false, 5);
  });
}

TEST_CASE("log_softmax forward and backward on awkward sizes", "[softmax][reduce]") {
  for_each_reduction_layout([] {
    check_softmax(1, 1, true, 11);
    check_softmax(3, 7, true, 12);
    check_softmax(6, 10, true, 13);
    check_softmax(7, 257, true, 14);
    check_softmax(9, 1031, true, 15);
  });
}

TEST_CASE("softmax over more than 1M elements and more rows than one dispatch covers", "[softmax][reduce]") {
  for_each_reduction_layout([] {
    check_softmax(1031, 1031, false, 21);  // 1,062,961 elements
    check_softmax(1031, 1031, true, 22);
    check_softmax(70001, 3, false, 23);  // > 65535 rows: the grid-stride loop over rows
    check_softmax(70001, 3, true, 24);
  });
}

TEST_CASE("softmax rejects mismatched shapes and dtypes", "[softmax][reduce]") {
  Context& ctx = context();
  Tensor x(ctx, {4, 5}), y(ctx, {5, 4}), yi(ctx, {4, 5}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(softmax_forward(cmd, x, y), Catch::Contains("[4, 5]") && Catch::Contains("[5, 4]"));
  CHECK_THROWS_WITH(log_softmax_forward(cmd, x, yi), Catch::Contains("must be f32"));
  CHECK_THROWS_AS(softmax_backward(cmd, x, x, y), InvalidArgument);
}

TEST_CASE("sum, mean and max along rows and columns", "[softmax][reduce]") {
  for_each_reduction_layout([] {
    check_matrix_reductions(1, 1, 51);
    check_matrix_reductions(7, 10, 52);
    check_matrix_reductions(13, 257, 53);
    check_matrix_reductions(3, 1031, 54);
    check_matrix_reductions(5, 12, 56);       // columns in whole vec4s: the per-invocation
    check_matrix_reductions(129, 512, 57);    // layout's vec4 path
    check_matrix_reductions(1031, 1031, 55);  // > 1M elements
  });
}

TEST_CASE("whole-tensor sum, mean, max and squared L2 norm are deterministic", "[softmax][reduce]") {
  check_whole_tensor(1, false, 61);
  check_whole_tensor(7, false, 62);
  check_whole_tensor(257, true, 63);
  check_whole_tensor(65537, false, 64);
  check_whole_tensor((1u << 20) + 3, false, 65);
  check_whole_tensor((1u << 20) + 3, true, 66);
}

TEST_CASE("argmax per row: first index on ties, NaN is the maximum", "[softmax][reduce]") {
  for_each_reduction_layout([] {
    check_argmax(1, 1, 71);
    check_argmax(5, 7, 72);
    check_argmax(9, 257, 73);
    check_argmax(4, 1031, 74);
    check_argmax(70001, 3, 75);
  });
}

TEST_CASE("reductions reject mismatched outputs", "[softmax][reduce]") {
  Context& ctx = context();
  Tensor x(ctx, {4, 5}), out(ctx, {5}), two(ctx, {2}), idx(ctx, {4});
  ReduceWorkspace workspace(ctx);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(reduce_rows(cmd, ReduceOp::sum, x, out), Catch::Contains("4 rows"));
  CHECK_THROWS_AS(reduce_all(cmd, ReduceOp::max, x, two, workspace), InvalidArgument);
  CHECK_THROWS_WITH(argmax_rows(cmd, x, idx), Catch::Contains("i32"));
}

TEST_CASE("softmax and row reductions treat all leading dimensions as rows", "[softmax][reduce]") {
  Context& ctx = context();
  const auto x = uniform(2 * 3 * 5, -3.0f, 3.0f, 81);
  Tensor tx = Tensor::from(ctx, {2, 3, 5}, x), ty(ctx, {2, 3, 5}), sums(ctx, {2, 3});
  ty.fill(poison);
  sums.fill(poison);
  CommandList cmd(ctx);
  softmax_forward(cmd, tx, ty);
  reduce_rows(cmd, ReduceOp::sum, ty, sums);
  cmd.run();
  require_no_validation_messages();
  std::vector<double> y_ref(30);
  ref::softmax_forward(to_double(x).data(), y_ref.data(), 6, 5, false);
  CHECK(compare(ty.to_vector(), y_ref, 1e-5, 1e-6).count == 0);
  for (float s : sums.to_vector()) CHECK(close(s, 1.0, 0.0, 1e-6));  // 5 terms in [0, 1] summing to 1
}

}  // namespace vkgrad::test
