// The two reduction paths: subgroup arithmetic (the <shader>_subgroup variants, the default on GPUs
// that have it) and the portable shared-memory tree (the default on CPU devices). Both are checked
// here against the double references in one process: one context per path (the whole suite also
// runs with VKGRAD_KERNELS=gpu). The later cases put NaN and ±inf at every position relative to a
// subgroup and check the environment switch and determinism.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "harness.hpp"
#include "platform.hpp"
#include "reference/reduce_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float nan = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

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

// Sum bound as in reduce_test.cpp: float32 error grows with Σ|terms| (Kahan per invocation plus a
// fold of depth <= log2(local size)); 1e-5·Σ|terms| leaves margin without hiding a wrong term.
double sum_tolerance(const float* x, std::size_t n) {
  double mag = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) mag += std::fabs(double(x[i]));
  }
  return 1e-6 + 1e-5 * mag;
}

// Rows of length C, each with its own non-finite values at a different position relative to a
// subgroup: the first lane, the last lane of an 8-wide subgroup, the middle, the last element.
std::vector<float> special_rows(std::size_t C, std::size_t rows, uint64_t seed) {
  auto x = uniform(rows * C, -4.0f, 4.0f, seed);
  auto row = [&](std::size_t r) { return x.begin() + std::ptrdiff_t(r * C); };
  const std::size_t mid = C / 2, lane7 = std::min<std::size_t>(7, C - 1), last = C - 1;
  row(0)[0] = nan;
  row(1)[last] = nan;
  row(2)[lane7] = nan;
  row(3)[mid] = nan;  // NaN next to +inf: still NaN
  row(3)[0] = inf;
  row(4)[mid] = inf;                                    // max +inf, sum +inf
  std::fill(row(5), row(5) + std::ptrdiff_t(C), -inf);  // max -inf, sum -inf
  row(6)[0] = inf;                                      // +inf and -inf: sum NaN, max +inf
  row(6)[last] = C > 1 ? -inf : inf;
  std::fill(row(7), row(7) + std::ptrdiff_t(C), nan);  // all NaN
  return x;                                            // row 8: plain random data
}

void check_special_rows(Context& ctx, std::size_t C, uint64_t seed) {
  const std::size_t N = 9;
  const auto x = special_rows(C, N, seed);
  const auto xd = to_double(x);
  Tensor tx = Tensor::from(ctx, {N, C}, x);
  for (int op : {0, 2}) {
    Tensor out(ctx, {N});
    out.fill(poison);
    CommandList cmd(ctx);
    reduce_rows(cmd, ReduceOp(op), tx, out);
    cmd.run();
    const auto got = out.to_vector();
    const auto expected = ref::reduce_rows(xd.data(), N, C, op);
    for (std::size_t r = 0; r < N; ++r) {
      INFO("C " << C << ", op " << op << ", row " << r << ": got " << got[r] << " expected " << expected[r]);
      CHECK(close(got[r], expected[r], 0.0, op == 2 ? 0.0 : sum_tolerance(x.data() + r * C, C)));
    }
  }
}

void check_special_tensor(Context& ctx, std::size_t n, std::size_t special_at, float special, uint64_t seed) {
  auto x = uniform(n, -4.0f, 4.0f, seed);
  x[special_at] = special;
  const auto xd = to_double(x);
  Tensor tx = Tensor::from(ctx, {n}, x), sum(ctx, {1}), max(ctx, {1});
  ReduceWorkspace workspace(ctx);
  sum.fill(poison);
  max.fill(poison);
  CommandList cmd(ctx);
  reduce_all(cmd, ReduceOp::sum, tx, sum, workspace);
  reduce_all(cmd, ReduceOp::max, tx, max, workspace);
  cmd.run();
  const float s = sum.to_vector()[0], m = max.to_vector()[0];
  const double s_ref = ref::reduce_all(xd.data(), n, 0), m_ref = ref::reduce_all(xd.data(), n, 2);
  INFO("n " << n << ", " << special << " at " << special_at << "; sum: got " << s << " expected " << s_ref
            << "; max: got " << m << " expected " << m_ref);
  CHECK(close(s, s_ref, 0.0, sum_tolerance(x.data(), n)));
  CHECK(close(m, m_ref, 0.0, 0.0));
}

// Sets (value null: unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    detail::platform::set_environment(name, value);
  }
  ~ScopedEnv() { detail::platform::set_environment(name_, old_.empty() ? nullptr : old_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
};

}  // namespace

TEST_CASE("reductions use subgroup operations where the device has them, and can be told not to",
          "[reduce][subgroup]") {
  Context& ctx = context();
  CHECK(ctx.subgroup_reductions() == ctx.kernels().subgroup_reductions);
  CHECK(ctx.subgroup_reductions() == (ctx.device().subgroup_arithmetic && ctx.kernels().set == KernelSet::gpu));
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

TEST_CASE("LP_NATIVE_VECTOR_WIDTH=128 gives lavapipe 4-wide subgroups", "[reduce][subgroup]") {
  // The width4 CTest copies rely on it to catch kernels that assume a subgroup width.
  const DeviceInfo& dev = context().device();
  const char* width = std::getenv("LP_NATIVE_VECTOR_WIDTH");
  if (dev.name.find("llvmpipe") == std::string::npos || width == nullptr) return;
  CHECK(dev.subgroup_size == (std::string(width) == "128" ? 4u : 8u));
}

TEST_CASE("VKGRAD_KERNELS chooses the kernel set and explicit options win over it", "[reduce][subgroup][kernels]") {
  const DeviceInfo& dev = context().device();
  const bool supported = dev.subgroup_arithmetic;
  if (dev.name.find("llvmpipe") != std::string::npos) {
    CHECK(supported);  // lavapipe has subgroup arithmetic: CI must exercise both reduction paths
  }
  {
    ScopedEnv gpu("VKGRAD_KERNELS", "gpu");
    Context ctx;
    CHECK(ctx.kernels().set == KernelSet::gpu);
    CHECK(ctx.kernels().reason == "VKGRAD_KERNELS=gpu");
    CHECK(ctx.subgroup_reductions() == supported);
    CHECK_FALSE(ctx.texel_loads());
    CHECK(ctx.kernels().gemm_path == GemmPath::tiled);
    CHECK(ctx.kernels().row_reductions == RowReductions::workgroup);
    // A finer override wins over the set's choice.
    CHECK_FALSE(Context(ContextOptions{}.set_subgroup_reductions(false)).subgroup_reductions());
    // ContextOptions::kernels wins over the environment.
    Context cpu(ContextOptions{}.set_kernels(KernelSet::cpu));
    CHECK(cpu.kernels().set == KernelSet::cpu);
    CHECK_FALSE(cpu.subgroup_reductions());
    CHECK(cpu.kernels().gemm_path != GemmPath::tiled);
    CHECK(cpu.kernels().row_reductions == RowReductions::per_invocation);
  }
  {
    ScopedEnv cpu("VKGRAD_KERNELS", "cpu");
    Context ctx;
    CHECK(ctx.kernels().set == KernelSet::cpu);
    CHECK_FALSE(ctx.subgroup_reductions());
    CHECK(ctx.texel_loads() == (dev.shader_int64 && dev.texel_buffer_rgba32f));
    CHECK(Context(ContextOptions{}.set_subgroup_reductions(true)).subgroup_reductions() == supported);
  }
  {
    ScopedEnv bad("VKGRAD_KERNELS", "fast");
    CHECK_THROWS_WITH(Context(), Catch::Contains("VKGRAD_KERNELS=fast") && Catch::Contains("auto, gpu or cpu"));
  }
  for (const char* value : {"auto", static_cast<const char*>(nullptr)}) {
    ScopedEnv automatic("VKGRAD_KERNELS", value);
    CHECK_FALSE(ContextOptions{}.kernels.has_value());
    // Automatic: the cpu set on CPU devices, gpu elsewhere.
    Context ctx;
    CHECK(ctx.kernels().set == (dev.type == DeviceType::cpu ? KernelSet::cpu : KernelSet::gpu));
    CHECK(ctx.kernels().reason.find(dev.name) != std::string::npos);
    CHECK(ctx.subgroup_reductions() == (supported && dev.type != DeviceType::cpu));
  }
}

TEST_CASE("both reduction paths: NaN and inf at every subgroup position, row lengths around the subgroup size",
          "[reduce][subgroup]") {
  for (bool subgroups : {true, false}) {
    Context ctx(ContextOptions{}.set_subgroup_reductions(subgroups));
    INFO((ctx.subgroup_reductions() ? "subgroup" : "portable") << " path");
    uint64_t seed = 100;
    for (std::size_t C : {1u, 7u, 8u, 9u, 31u, 255u, 257u, 1031u, 4099u}) check_special_rows(ctx, C, ++seed);
    CHECK(ctx.validation_message_count() == 0);
  }
}

TEST_CASE("both reduction paths: whole-tensor sum and max with NaN and inf, up to > 1M", "[reduce][subgroup]") {
  for (bool subgroups : {true, false}) {
    Context ctx(ContextOptions{}.set_subgroup_reductions(subgroups));
    INFO((ctx.subgroup_reductions() ? "subgroup" : "portable") << " path");
    check_special_tensor(ctx, 1, 0, nan, 201);
    check_special_tensor(ctx, 7, 6, nan, 202);
    check_special_tensor(ctx, 255, 7, nan, 203);
    check_special_tensor(ctx, 257, 256, inf, 204);
    check_special_tensor(ctx, 65521, 8, -inf, 205);  // prime
    check_special_tensor(ctx, (1u << 20) + 7, (1u << 20) + 6, nan, 206);
    check_special_tensor(ctx, (1u << 20) + 7, 12345, 3.0e4f, 207);  // finite: a plain large sum
    CHECK(ctx.validation_message_count() == 0);
  }
}

TEST_CASE("the subgroup path is deterministic and agrees with the portable path", "[reduce][subgroup]") {
  if (!context().device().subgroup_arithmetic) {
    WARN("this device has no subgroup arithmetic: one path only, nothing to compare");
    return;
  }
  const std::size_t N = 37, C = 3001;
  const auto x = uniform(N * C, -1.0f, 1.0f, 301);
  std::vector<std::vector<float>> results;
  for (bool subgroups : {true, false}) {
    Context ctx(ContextOptions{}.set_subgroup_reductions(subgroups));
    REQUIRE(ctx.subgroup_reductions() == subgroups);
    Tensor tx = Tensor::from(ctx, {N, C}, x), out(ctx, {N});
    out.fill(poison);
    CommandList cmd(ctx);
    reduce_rows(cmd, ReduceOp::sum, tx, out);
    cmd.run();
    const auto first = out.to_vector();
    cmd.run();
    const auto second = out.to_vector();
    INFO((subgroups ? "subgroup" : "portable") << " path");
    CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
    CHECK(ctx.validation_message_count() == 0);
    results.push_back(first);
  }
  // Different summation orders: close, not necessarily bit-identical.
  for (std::size_t r = 0; r < N; ++r) {
    INFO("row " << r << ": subgroup " << results[0][r] << ", portable " << results[1][r]);
    CHECK(close(results[0][r], results[1][r], 0.0, sum_tolerance(x.data() + r * C, C)));
  }
}

}  // namespace vkgrad::test
