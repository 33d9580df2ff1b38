// Sparse weights (include/vkgrad/sparse.hpp): SparseMatrix's conversions, and sparse_linear_forward
// in both formats against the double reference (tests/reference/sparse_ref.hpp) and against the
// dense linear_forward of the same masked weights, over awkward shapes, densities from 0 to 100 %,
// extreme inputs, a grid capped at 3 workgroups, and misuse. Tagged [linear]: it runs in the
// width4: and apple-m1: copies with the other linear-layer tests.
#include "vkgrad/sparse.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "harness.hpp"
#include "platform.hpp"
#include "reference/activation_ref.hpp"
#include "reference/gemm_ref.hpp"
#include "reference/sparse_ref.hpp"

// Helpers and tests live in namespace sparse: the unity build compiles this file with others that
// define their own kNaN, kAtol, ...
namespace vkgrad::test::sparse {
namespace {

// The bound of linear_test.cpp (see the error model in gemm_test.cpp): a sum of products in f32 is
// within 1e-5 of Σ|terms| of the exact sum, plus 1e-6; the activations tested have |f'| ≤ 1.13.
constexpr double kSumRtol = 1e-5;
constexpr double kAtol = 1e-6;
constexpr double kMaxSlope = 1.13;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

constexpr SparseFormat kFormats[] = {SparseFormat::csr, SparseFormat::ell};

// Uniform weights in [-1, 1) with each entry kept with probability `density` (a fixed seed).
std::vector<float> masked(std::size_t rows, std::size_t cols, double density, uint64_t seed) {
  auto w = uniform(rows * cols, -1, 1, seed);
  std::mt19937_64 rng(seed + 1000);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (float& v : w) {
    if (!(u(rng) < density)) v = 0.0f;
  }
  return w;
}

// Every output of sparse_linear_forward (in `format`) against the reference: X (N × in), the masked
// weight w (out × in), bias b (or none), activation act. The tolerance per element is that of
// linear_forward's conformance test, with the magnitude of the stored products only.
void check_against_reference(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>* b,
                             std::size_t N, std::size_t in, std::size_t out, const ActivationSpec& act,
                             SparseFormat format) {
  Context& ctx = context();
  const SparseMatrix W = SparseMatrix::from_host(ctx, out, in, w, format);
  Tensor tX = Tensor::from(ctx, {N, in}, x), Y(ctx, {N, out});
  Tensor tb = b ? Tensor::from(ctx, {out}, *b) : Tensor();
  Y.fill(poison);
  CommandList cmd(ctx);
  sparse_linear_forward(cmd, tX, W, tb, Y, act);
  cmd.run();
  require_no_validation_messages();

  std::vector<double> pre(N * out), mag(N * out), ref(N * out), allowed(N * out);
  ref::sparse_linear_forward(x.data(), w.data(), b ? b->data() : nullptr, pre.data(), N, in, out);
  ref::sparse_linear_magnitude(x.data(), w.data(), mag.data(), N, in, out);
  const auto& info = activation_info(act.kind);
  const auto got = Y.to_vector();
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < N * out; ++i) {
    const double bias = b ? std::fabs(double((*b)[i % out])) : 0.0;
    const double pre_error = kSumRtol * (mag[i] + bias) + kAtol;
    const bool zeroed = act.sparse && pre[i] <= act.theta;
    ref[i] = zeroed ? 0.0 : ref::activation_forward(uint32_t(act.kind), pre[i], act.params[0], act.params[1]);
    allowed[i] = kMaxSlope * pre_error + info.forward_atol + info.forward_rtol * std::fabs(ref[i]);
    // Within rounding of the sparse cutoff either side is a correct answer.
    if (act.sparse && std::fabs(pre[i] - act.theta) <= pre_error) continue;
    if (!close(got[i], ref[i], 0.0, allowed[i]) && bad++ == 0) first = i;
  }
  INFO(bad << " mismatches; first at " << first << ": got " << got[first] << " expected " << ref[first]);
  CHECK(bad == 0);
}

void check_shape(std::size_t N, std::size_t in, std::size_t out, double density, bool with_bias,
                 const ActivationSpec& act, uint64_t seed) {
  const auto x = uniform(N * in, -1, 1, seed);
  const auto w = masked(out, in, density, seed + 1);
  const auto b = uniform(out, -1, 1, seed + 2);
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format) << " N=" << N << " in=" << in << " out=" << out << " density=" << density
                           << (with_bias ? " with bias, " : " no bias, ") << act.to_string());
    check_against_reference(x, w, with_bias ? &b : nullptr, N, in, out, act, format);
  }
}

}  // namespace

TEST_CASE("the sparse reference equals the dense reference on finite inputs", "[linear][spmm]") {
  // Leaving out a finite x·0 term does not change a double sum, so the two references agree exactly;
  // with an inf in X they differ exactly where that inf meets a zero weight.
  const std::size_t N = 5, in = 37, out = 11;
  auto x = uniform(N * in, -1, 1, 400);
  const auto w = masked(out, in, 0.3, 401);
  const auto b = uniform(out, -1, 1, 402);
  std::vector<double> sparse(N * out), dense(N * out);
  ref::sparse_linear_forward(x.data(), w.data(), b.data(), sparse.data(), N, in, out);
  ref::linear_forward(x.data(), w.data(), b.data(), dense.data(), N, in, out);
  CHECK(sparse == dense);
  x[2] = kInf;  // row 0, column 2
  ref::sparse_linear_forward(x.data(), w.data(), b.data(), sparse.data(), N, in, out);
  ref::linear_forward(x.data(), w.data(), b.data(), dense.data(), N, in, out);
  std::size_t pruned = 0;
  for (std::size_t o = 0; o < out; ++o) pruned += w[o * in + 2] == 0.0f ? 1 : 0;
  REQUIRE(pruned > 0);  // both cases occur
  REQUIRE(pruned < out);
  for (std::size_t o = 0; o < out; ++o) {
    INFO("output " << o << ", weight " << w[o * in + 2]);
    CHECK(std::isnan(dense[o]) == (w[o * in + 2] == 0.0f));
    CHECK(std::isinf(sparse[o]) == (w[o * in + 2] != 0.0f));
  }
}

TEST_CASE("sparse_linear_forward matches the reference over awkward shapes and densities", "[linear][spmm]") {
  uint64_t seed = 500;
  for (const double density : {0.0, 0.01, 0.1, 0.5, 1.0}) {
    for (const auto& [N, in, out] : std::vector<std::array<std::size_t, 3>>{{1, 1, 1},
                                                                            {7, 7, 7},
                                                                            {1, 784, 257},
                                                                            {255, 257, 7},
                                                                            {257, 7, 257},
                                                                            {131, 784, 10},
                                                                            {3, 1, 784},
                                                                            {128, 33, 300}}) {
      check_shape(N, in, out, density, true, Activation::relu, seed++);
    }
  }
}

TEST_CASE("sparse_linear_forward with each epilogue, with and without bias", "[linear][spmm]") {
  uint64_t seed = 600;
  for (const bool bias : {true, false}) {
    for (const ActivationSpec& act : {ActivationSpec(Activation::identity), ActivationSpec(Activation::gelu),
                                      ActivationSpec(Activation::leaky_relu).set("negative_slope", 0.2f),
                                      ActivationSpec(Activation::gelu).sparse_threshold(0.1f)}) {
      check_shape(37, 70, 44, 0.3, bias, act, seed++);
    }
  }
}

TEST_CASE("sparse_linear_forward with over a million weights, a full row and an empty row", "[linear][spmm]") {
  // 1500 × 784 = 1,176,000 weights at 10 %, with 7 rows (each invocation takes all) and 9.
  check_shape(7, 784, 1500, 0.1, true, Activation::identity, 700);
  check_shape(9, 784, 1500, 0.1, true, Activation::identity, 704);
  // Row 0 holds all 784 inputs, row 1 none (its outputs are act(b)), the rest are sparse.
  auto w = masked(9, 784, 0.05, 701);
  for (std::size_t i = 0; i < 784; ++i) {
    w[i] = 0.5f + static_cast<float>(i % 7) * 0.01f;
    w[784 + i] = 0.0f;
  }
  const auto x = uniform(257 * 784, -1, 1, 702);
  const auto b = uniform(9, -1, 1, 703);
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format));
    check_against_reference(x, w, &b, 257, 784, 9, Activation::relu, format);
  }
}

TEST_CASE("sparse_linear_forward equals the dense linear_forward of the masked weights", "[linear][spmm]") {
  // Finite inputs: both sum the same nonzero products, so they agree within the sum's rounding.
  Context& ctx = context();
  const std::size_t N = 129, in = 257, out = 65;
  const auto x = uniform(N * in, -1, 1, 800);
  const auto w = masked(out, in, 0.2, 801);
  const auto b = uniform(out, -1, 1, 802);
  Tensor tX = Tensor::from(ctx, {N, in}, x), tW = Tensor::from(ctx, {out, in}, w), tb = Tensor::from(ctx, {out}, b);
  std::vector<double> mag(N * out);
  ref::sparse_linear_magnitude(x.data(), w.data(), mag.data(), N, in, out);
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format));
    const SparseMatrix W = SparseMatrix::from_dense(ctx, tW, format);
    CHECK(W.nnz() == static_cast<uint64_t>(std::count_if(w.begin(), w.end(), [](float v) { return v != 0; })));
    Tensor dense(ctx, {N, out}), sparse(ctx, {N, out});
    dense.fill(poison);
    sparse.fill(poison);
    CommandList cmd(ctx);
    linear_forward(cmd, tX, tW, tb, dense, Activation::identity);
    sparse_linear_forward(cmd, tX, W, tb, sparse, Activation::identity);
    cmd.run();
    require_no_validation_messages();
    const auto d = dense.to_vector(), s = sparse.to_vector();
    std::vector<double> scale(N * out);
    for (std::size_t i = 0; i < N * out; ++i) scale[i] = mag[i] + std::fabs(b[i % out]);
    // Two sums of the same products in different orders (tiles vs. one row at a time): each within
    // kSumRtol·Σ|terms| of the exact sum, so within twice that of each other.
    std::size_t bad = 0;
    for (std::size_t i = 0; i < N * out; ++i)
      bad += std::fabs(d[i] - s[i]) <= 2 * (kSumRtol * scale[i] + kAtol) ? 0 : 1;
    CHECK(bad == 0);
  }
}

TEST_CASE("sparse_linear_forward on extreme inputs", "[linear][spmm]") {
  // X holds ±1e4, ±inf, NaN, denormals and ±0; W's stored entries include denormals, ±1e4, inf and
  // NaN, and its structural zeros meet inf and NaN in X (skipped: see the file comment of sparse.hpp).
  const std::size_t N = 9, in = 11, out = 13;
  const float denorm = std::numeric_limits<float>::denorm_min() * 7;
  const std::vector<float> specials = {1e4f, -1e4f, kInf, -kInf, kNaN, denorm, -denorm, 0.0f, -0.0f, 0.5f, -2.0f};
  std::vector<float> x(N * in), w = masked(out, in, 0.4, 901);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i * 7) % 5 == 0 ? specials[i % specials.size()] : 0.25f;
  const std::vector<float> w_specials = {denorm, 1e4f, -1e4f, kInf, kNaN, -0.0f};
  for (std::size_t i = 0; i < w.size(); i += 17) w[i] = w_specials[(i / 17) % w_specials.size()];
  const auto b = uniform(out, -1, 1, 902);
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format));
    check_against_reference(x, w, &b, N, in, out, Activation::identity, format);
    check_against_reference(x, w, nullptr, N, in, out, Activation::relu, format);
  }
}

TEST_CASE("sparse_linear_forward skips structural zeros where dense linear_forward gives NaN", "[linear][spmm]") {
  // X = [inf, 1, NaN]. W's row 0 = [0, 2, -0]: dense computes 0·inf + 2 + 0·NaN = NaN, sparse
  // (skipping the zeros) 2. Row 1 = [1, 0, 0]: dense NaN (0·NaN), sparse inf (1·inf). Row 2 =
  // [0, 0, 4] stores the weight that meets NaN: NaN in both.
  Context& ctx = context();
  const std::vector<float> x = {kInf, 1.0f, kNaN}, w = {0.0f, 2.0f, -0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 4.0f};
  Tensor tX = Tensor::from(ctx, {1, 3}, x), tW = Tensor::from(ctx, {3, 3}, w);
  Tensor dense(ctx, {1, 3}), sparse(ctx, {1, 3}), none;
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format));
    const SparseMatrix W = SparseMatrix::from_dense(ctx, tW, format);
    CHECK(W.nnz() == 3);
    dense.fill(poison);
    sparse.fill(poison);
    CommandList cmd(ctx);
    linear_forward(cmd, tX, tW, none, dense);
    sparse_linear_forward(cmd, tX, W, none, sparse);
    cmd.run();
    require_no_validation_messages();
    const auto d = dense.to_vector(), s = sparse.to_vector();
    CHECK(std::isnan(d[0]));
    CHECK(s[0] == 2.0f);
    CHECK(std::isnan(d[1]));
    CHECK(s[1] == kInf);
    CHECK(std::isnan(d[2]));
    CHECK(std::isnan(s[2]));
  }
}

TEST_CASE("SparseMatrix round trip gives the dense matrix back bit for bit", "[linear][spmm]") {
  Context& ctx = context();
  const std::size_t rows = 257, cols = 131;
  auto w = masked(rows, cols, 0.3, 1000);
  const float denorm = std::numeric_limits<float>::denorm_min();
  const std::vector<float> specials = {kInf, -kInf, kNaN, -kNaN, denorm, -denorm, 1e-30f, 3e38f};
  for (std::size_t i = 0; i < specials.size(); ++i) w[i * 97] = specials[i];
  for (std::size_t c = 0; c < cols; ++c) w[5 * cols + c] = 0.0f;             // an empty row
  for (std::size_t c = 0; c < cols; ++c) w[6 * cols + c] = 1.0f + float(c);  // a full row
  Tensor tW = Tensor::from(ctx, {rows, cols}, w);
  for (const SparseFormat format : kFormats) {
    INFO(to_string(format));
    const SparseMatrix W = SparseMatrix::from_dense(ctx, tW, format);
    CHECK(W.rows() == rows);
    CHECK(W.cols() == cols);
    CHECK(W.max_row_nnz() == cols);
    CHECK(W.format() == format);
    Tensor back(ctx, {rows, cols});
    back.fill(poison);
    W.to_dense(back);
    const auto got = back.to_vector();
    CHECK(std::memcmp(got.data(), w.data(), w.size() * sizeof(float)) == 0);
  }
  // −0.0 is a structural zero: not stored, and +0.0 on the way back.
  const std::vector<float> signed_zero = {-0.0f, 1.0f, 0.0f, -0.0f};
  const SparseMatrix Z = SparseMatrix::from_host(ctx, 2, 2, signed_zero);
  CHECK(Z.nnz() == 1);
  CHECK(Z.density() == 0.25);
  const auto back = Z.to_host();
  CHECK(!std::signbit(back[0]));
  CHECK(!std::signbit(back[3]));
  CHECK(back[1] == 1.0f);
  // An all-zero matrix stores nothing (and one placeholder entry).
  const SparseMatrix E = SparseMatrix::from_host(ctx, 3, 4, std::vector<float>(12, 0.0f), SparseFormat::ell);
  CHECK(E.nnz() == 0);
  CHECK(E.max_row_nnz() == 0);
  CHECK(E.to_host() == std::vector<float>(12, 0.0f));
}

TEST_CASE("sparse_linear_forward on a device that allows only 3 workgroups per dimension", "[linear][spmm]") {
  // 203 rows × 301 outputs is far more items than 3 workgroups cover: the grid-stride loop does them all.
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  check_shape(203, 37, 301, 0.3, true, Activation::relu, 1100);
  check_shape(200, 36, 300, 0.3, true, Activation::relu, 1102);  // multiples of 4
  check_shape(1, 37, 301, 0.3, false, Activation::identity, 1101);
}

TEST_CASE("sparse_linear_forward reads X transposed on the cpu kernel set where weights are dense enough",
          "[linear][spmm]") {
  // 128 × 33 → 300: at 50 % each input meets ~150 stored weights (the cpu set transposes X first:
  // two dispatches), at 1 % ~3 (one dispatch); the gpu set always reads X as it is. Both paths are
  // checked against the reference by the tests above; here, that each is taken.
  Context& ctx = context();
  const bool cpu_set = ctx.kernels().set == KernelSet::cpu;
  Tensor X = Tensor::from(ctx, {128, 33}, uniform(128 * 33, -1, 1, 1300)), Y(ctx, {128, 300}), none;
  for (const double density : {0.5, 0.01}) {
    const SparseMatrix W = SparseMatrix::from_host(ctx, 300, 33, masked(300, 33, density, 1301));
    CommandList cmd(ctx);
    sparse_linear_forward(cmd, X, W, none, Y);
    CHECK(cmd.dispatch_count() == (cpu_set && density == 0.5 ? 2u : 1u));
  }
}

TEST_CASE("sparse_linear_forward refuses misuse with a clear message", "[linear][spmm]") {
  Context& ctx = context();
  const SparseMatrix W = SparseMatrix::from_host(ctx, 3, 5, uniform(15, -1, 1, 1200));
  Tensor X(ctx, {8, 5}), X_bad(ctx, {8, 6}), b(ctx, {3}), b_bad(ctx, {4}), Y(ctx, {8, 3}), Y_bad(ctx, {8, 4}), none;
  Tensor X_f16(ctx, {8, 5}, DType::f16), Y_i32(ctx, {8, 3}, DType::i32), X_1d(ctx, {40});
  CommandList cmd(ctx);
  require_refused([&] { sparse_linear_forward(cmd, X_bad, W, b, Y); },
                  {"sparse_linear_forward", "X [8, 6]", "W [3, 5]", "Y [8, 3]"});
  require_refused([&] { sparse_linear_forward(cmd, X, W, b_bad, Y); }, {"b [4]"});
  require_refused([&] { sparse_linear_forward(cmd, X, W, b, Y_bad); }, {"Y [8, 4]"});
  require_refused([&] { sparse_linear_forward(cmd, X_f16, W, b, Y); }, {"'X'", "f16"});
  require_refused([&] { sparse_linear_forward(cmd, X, W, b, Y_i32); }, {"'Y'", "i32"});
  require_refused([&] { sparse_linear_forward(cmd, X_1d, W, b, Y); }, {"'X'", "2-D"});
  require_refused([&] { sparse_linear_forward(cmd, X, SparseMatrix(), b, Y); }, {"'W' is empty"});
  Tensor square(ctx, {5, 5});
  const SparseMatrix W5 = SparseMatrix::from_host(ctx, 5, 5, uniform(25, -1, 1, 1201));
  require_refused([&] { sparse_linear_forward(cmd, square, W5, none, square); }, {"'Y' must not be the same tensor"});
  // Conversions.
  require_refused([&] { (void)SparseMatrix::from_host(ctx, 2, 3, std::vector<float>(5)); }, {"2 × 3", "5 values"});
  require_refused([&] { (void)SparseMatrix::from_dense(ctx, Y_i32); }, {"'W'", "i32"});
  require_refused([&] { (void)SparseMatrix::from_dense(ctx, X_1d); }, {"'W'", "2-D"});
  require_refused([&] { (void)SparseMatrix::from_dense(ctx, none); }, {"'W' is empty"});
  Tensor wrong(ctx, {5, 3});
  require_refused([&] { W.to_dense(wrong); }, {"[5, 3]", "3 × 5"});
  // Another Context's matrix or tensors.
  Context other;
  const SparseMatrix foreign = SparseMatrix::from_host(other, 3, 5, uniform(15, -1, 1, 1202));
  Tensor foreign_w(other, {3, 5});
  require_refused([&] { sparse_linear_forward(cmd, X, foreign, b, Y); }, {"'W' belongs to another Context"});
  require_refused([&] { (void)SparseMatrix::from_dense(ctx, foreign_w); }, {"'W' belongs to another Context"});
  require_refused([&] { foreign.to_dense(Y); }, {"'W' belongs to another Context"});
  CHECK(cmd.dispatch_count() == 0);
}

TEST_CASE("sparse_is_faster follows the measured crossover and VKGRAD_SPARSE_CROSSOVER", "[linear][spmm]") {
  Context& ctx = context();
  detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", nullptr);
  for (const uint64_t rows : {1ull, 128ull, 1024ull}) {
    for (const auto& [in, out] : std::vector<std::array<uint64_t, 2>>{{784, 512}, {512, 256}, {256, 10}}) {
      INFO("rows " << rows << ", " << in << "→" << out);
      const double crossover = sparse_crossover_density(ctx, rows, in, out);
      CHECK(crossover >= 0.0);
      CHECK(crossover <= 0.5);  // the densest measured point
      // A shape near a measured one takes its value.
      CHECK(sparse_crossover_density(ctx, rows + rows / 10, in - 4, out + 1) == crossover);
      CHECK(sparse_is_faster(ctx, rows, in, out, crossover));
      CHECK_FALSE(sparse_is_faster(ctx, rows, in, out, std::nextafter(crossover, 2.0)));
    }
  }
  detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", "0.3");
  CHECK(sparse_crossover_density(ctx, 1024, 784, 512) == 0.3);
  CHECK(sparse_is_faster(ctx, 7, 3, 5, 0.3));
  CHECK_FALSE(sparse_is_faster(ctx, 7, 3, 5, 0.31));
  for (const char* bad : {"abc", "1.5", "-0.1", "0.2x"}) {
    detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", bad);
    require_refused([&] { (void)sparse_crossover_density(ctx, 1, 1, 1); }, {"VKGRAD_SPARSE_CROSSOVER", bad});
  }
  detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", nullptr);
}

}  // namespace vkgrad::test::sparse
