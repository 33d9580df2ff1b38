// The two reduction paths: subgroup arithmetic (the <shader>_subgroup variants, used where the
// device has it) and the portable shared-memory tree. Both are checked here against the double
// references in one process: one context per path. (CTest also reruns the reduction-using tests
// with VKGRAD_SUBGROUPS=0: see tests/CMakeLists.txt.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "harness.hpp"
#include "reference/reduce_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float nan = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

bool subgroups_disabled_by_env() {
  const char* v = std::getenv("VKGRAD_SUBGROUPS");
  return v != nullptr && std::string(v) == "0";
}

// Runs the reductions on `ctx` and compares with the references.
void check_reductions(Context& ctx) {
  for (std::size_t C : {std::size_t(1), std::size_t(7), std::size_t(255), std::size_t(257), std::size_t(1031)}) {
    const std::size_t N = 9;
    CAPTURE(C);
    auto x = uniform(N * C, -3, 3, C);
    x[1 * C + C / 2] = nan;  // row 1: NaN
    x[2 * C] = inf;          // row 2: +inf
    x[3 * C + C - 1] = -inf;
    for (std::size_t c = 0; c < C; ++c) x[4 * C + c] = 1e4f * (c % 2 ? 1.0f : -1.0f);
    Tensor tx = Tensor::from(ctx, {N, C}, x), sum(ctx, {N}), max(ctx, {N}), y(ctx, {N, C});
    for (Tensor* t : {&sum, &max, &y}) t->fill(poison);
    CommandList cmd(ctx);
    reduce_rows(cmd, ReduceOp::sum, tx, sum);
    reduce_rows(cmd, ReduceOp::max, tx, max);
    softmax_forward(cmd, tx, y);
    cmd.run();
    const auto xd = to_double(x);
    // Sums of C terms in f32 with a different association than the double reference: bounded by
    // C·2^-24·Σ|x| — 1e-5 relative plus 1e-3 absolute covers C ≤ 1031 at |x| ≤ 1e4.
    CHECK(compare(sum.to_vector(), ref::reduce_rows(xd.data(), N, C, 0), 1e-5, 1e-3 * (C > 100 ? 10 : 1)).count == 0);
    CHECK(compare(max.to_vector(), ref::reduce_rows(xd.data(), N, C, 2), 0, 0).count == 0);
    std::vector<double> y_ref(N * C);
    ref::softmax_forward(xd.data(), y_ref.data(), N, C, false);
    CHECK(compare(y.to_vector(), y_ref, 1e-5, 1e-6).count == 0);
  }
  // Whole-tensor sum over > 1M elements.
  const std::size_t n = (1u << 20) + 3;
  const auto big = uniform(n, -1, 1, 77);
  Tensor tb = Tensor::from(ctx, {n}, big), out(ctx, {1});
  ReduceWorkspace ws(ctx);
  CommandList cmd(ctx);
  reduce_all(cmd, ReduceOp::sum, tb, out, ws);
  cmd.run();
  const auto bd = to_double(big);
  double mag = 0;
  for (double v : bd) mag += std::fabs(v);
  // Two-level f32 sum of 2^20 terms: error ≤ ~(log2 n)·2^-24·Σ|x|; 1e-6·Σ|x| is above that.
  CHECK(std::fabs(out.to_vector()[0] - ref::reduce_all(bd.data(), n, 0)) <= 1e-6 * mag);
}

}  // namespace

TEST_CASE("reductions use subgroup operations where the device has them, and can be told not to", "[reduce][subgroup]") {
  Context& ctx = context();
  CHECK(ctx.subgroup_reductions() == (ctx.device().subgroup_arithmetic && !subgroups_disabled_by_env()));
  Context portable(ContextOptions{}.set_subgroup_reductions(false));
  CHECK_FALSE(portable.subgroup_reductions());
  if (ctx.device().subgroup_arithmetic) {
    Context forced(ContextOptions{}.set_subgroup_reductions(true));
    CHECK(forced.subgroup_reductions());
  }
}

TEST_CASE("both reduction paths match the references on awkward sizes and non-finite rows", "[reduce][subgroup]") {
  for (bool subgroups : {true, false}) {
    Context ctx(ContextOptions{}.set_subgroup_reductions(subgroups));
    INFO((ctx.subgroup_reductions() ? "subgroup" : "portable") << " path");
    if (subgroups && !ctx.subgroup_reductions()) WARN("this device has no subgroup arithmetic: portable path only");
    check_reductions(ctx);
    CHECK(ctx.validation_message_count() == 0);
  }
}

}  // namespace vkgrad::test
