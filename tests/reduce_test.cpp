// Softmax and log_softmax, forward and backward, against the double references
// (tests/reference/reduce_ref.cpp) on awkward sizes, extreme rows and a case over 1M elements.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vkgrad/reduce.hpp>

#include "harness.hpp"
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
      mag[i] = log ? std::fabs(double(dy[i])) + std::exp(double(y[i])) * s : std::fabs(double(y[i])) * (std::fabs(double(dy[i])) + s);
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
  if (log) log_softmax_forward(forward, tx, ty); else softmax_forward(forward, tx, ty);
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
  if (log) log_softmax_backward(backward, ty, tdy, tdx); else softmax_backward(backward, ty, tdy, tdx);
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

}  // namespace

TEST_CASE("softmax forward and backward on awkward sizes", "[softmax][reduce]") {
  check_softmax(1, 1, false, 1);
  check_softmax(3, 7, false, 2);
  check_softmax(6, 10, false, 3);
  check_softmax(7, 257, false, 4);
  check_softmax(9, 1031, false, 5);
}

TEST_CASE("log_softmax forward and backward on awkward sizes", "[softmax][reduce]") {
  check_softmax(1, 1, true, 11);
  check_softmax(3, 7, true, 12);
  check_softmax(6, 10, true, 13);
  check_softmax(7, 257, true, 14);
  check_softmax(9, 1031, true, 15);
}

TEST_CASE("softmax over more than 1M elements and more rows than one dispatch covers", "[softmax][reduce]") {
  check_softmax(1031, 1031, false, 21);  // 1,062,961 elements
  check_softmax(1031, 1031, true, 22);
  check_softmax(70001, 3, false, 23);  // > 65535 rows: the grid-stride loop over rows
  check_softmax(70001, 3, true, 24);
}

TEST_CASE("softmax rejects mismatched shapes and dtypes", "[softmax][reduce]") {
  Context& ctx = context();
  Tensor x(ctx, {4, 5}), y(ctx, {5, 4}), yi(ctx, {4, 5}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(softmax_forward(cmd, x, y), Catch::Contains("[4, 5]") && Catch::Contains("[5, 4]"));
  CHECK_THROWS_WITH(log_softmax_forward(cmd, x, yi), Catch::Contains("must be f32"));
  CHECK_THROWS_AS(softmax_backward(cmd, x, x, y), InvalidArgument);
}

}  // namespace vkgrad::test
