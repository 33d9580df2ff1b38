// GEMM and nn.Linear (include/vkgrad/linear.hpp) against the double reference in
// tests/reference/gemm_ref.hpp: awkward shapes, all four transpose combinations, alpha/beta, NaN
// propagation, the fused bias + activation epilogue, backward overwrite/accumulate, shape errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "context_impl.hpp"
#include "gemm_tiles.hpp"
#include "harness.hpp"
#include "reference/activation_ref.hpp"
#include "reference/gemm_ref.hpp"
#include "vkgrad/linear.hpp"

namespace vkgrad::test {
namespace {

// Error model for f32 products. Each result is a sum of K products accumulated in f32; its rounding
// error is bounded by a multiple of u·Σ_k|a_ik·b_kj| (u = 2^-24 ≈ 6e-8), the scale that matters when
// terms cancel (|ref| can be far smaller than the terms). The worst case γ_K = K·u (6e-5 for
// K = 1031) is never approached: the roundings are independent and unbiased, so the error grows
// like √K·u (≈ 2e-6 at K = 1031, ≈ 3e-7 at K = 16 per tile step). 1e-5 = 168·u leaves a margin of
// ≥ 5× at the largest K tested; the 1e-6 absolute term covers results whose terms are all ~0.
constexpr double kSumRtol = 1e-5;
constexpr double kAtol = 1e-6;
// Whole-matrix check: ‖gpu − ref‖_F / ‖ref‖_F. Catches a systematic error (a wrong tile, a lost
// row) that could hide under a per-element bound with large magnitudes.
constexpr double kFrobeniusRtol = 1e-5;

// Compares got with ref element by element against allowed[i] and over the whole matrix (Frobenius,
// finite elements only); reports the first mismatches and the worst one.
void check_matrix(const std::vector<float>& got, const std::vector<double>& ref, const std::vector<double>& allowed,
                  std::size_t cols, const std::string& what) {
  INFO(what);
  REQUIRE(got.size() == ref.size());
  std::size_t bad = 0, worst = 0;
  double worst_ratio = 0, diff2 = 0, ref2 = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool ok = close(got[i], ref[i], 0.0, allowed[i]);
    if (std::isfinite(ref[i]) && std::isfinite(got[i])) {
      diff2 += (got[i] - ref[i]) * (got[i] - ref[i]);
      ref2 += ref[i] * ref[i];
    }
    // The worst element over all of them, passing or not, so the margin of a passing test shows too.
    const bool both_finite = std::isfinite(got[i]) && std::isfinite(ref[i]);
    const double ratio = both_finite ? std::fabs(got[i] - ref[i]) / allowed[i] : ok ? 0.0 : INFINITY;
    if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
    if (ok) continue;
    if (bad++ < 5) first << " [" << i / cols << "," << i % cols << "] got " << got[i] << " expected " << ref[i] << ";";
  }
  INFO(bad << " mismatches;" << first.str() << " worst [" << worst / cols << "," << worst % cols << "] at "
           << worst_ratio << "× the allowed error");
  CHECK(bad == 0);
  const double frobenius = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  INFO("relative Frobenius error " << frobenius);
  CHECK(frobenius <= kFrobeniusRtol);
}

void check_gemm(std::size_t M, std::size_t N, std::size_t K, bool ta, bool tb, float alpha = 1, float beta = 0,
                uint64_t seed = 1, const detail::GemmTiles* tiles = nullptr) {
  Context& ctx = context();
  const auto a = uniform(M * K, -1, 1, seed);
  const auto b = uniform(K * N, -1, 1, seed + 1);
  const auto c0 = uniform(M * N, -1, 1, seed + 2);
  Tensor tA = Tensor::from(ctx, ta ? Shape{K, M} : Shape{M, K}, a);
  Tensor tB = Tensor::from(ctx, tb ? Shape{N, K} : Shape{K, N}, b);
  Tensor tC(ctx, {M, N});
  if (beta != 0)
    tC.upload(c0);
  else
    tC.fill(poison);  // beta == 0 must not read C
  CommandList cmd(ctx);
  if (tiles)
    detail::gemm_with_tiles(cmd, tA, tB, tC, ta, tb, alpha, beta, *tiles);
  else
    gemm(cmd, tA, tB, tC, ta, tb, alpha, beta);
  cmd.run();
  require_no_validation_messages();

  std::vector<double> ref(c0.begin(), c0.end()), mag(M * N);
  ref::gemm(a.data(), b.data(), ref.data(), M, N, K, ta, tb, alpha, beta);
  ref::gemm_magnitude(a.data(), b.data(), mag.data(), M, N, K, ta, tb);
  std::vector<double> allowed(M * N);
  for (std::size_t i = 0; i < M * N; ++i) {
    allowed[i] = kSumRtol * (std::fabs(alpha) * mag[i] + std::fabs(beta * double(c0[i]))) + kAtol;
  }
  std::ostringstream what;
  what << "gemm M=" << M << " N=" << N << " K=" << K << (ta ? " Aᵀ" : "") << (tb ? " Bᵀ" : "") << " alpha=" << alpha
       << " beta=" << beta;
  if (tiles) what << " tile " << tiles->m << "×" << tiles->n << "×" << tiles->k << (tiles->swap ? " swapped" : "");
  check_matrix(tC.to_vector(), ref, allowed, N, what.str());
}

// Tiles other than this device's choice: the shader must be right for every tile choose_gemm_tiles
// may pick on some device, not only the ones this device gets: tiles from the smallest (one thread,
// K step 1) to wide and tall ones, and a K step of 32 (the largest whose slices fit the shader's
// shared array with a 32×32 tile).
const detail::GemmTiles kOtherTiles[] = {{4, 4, 1},
                                         {8, 16, 4},
                                         {32, 32, 8},
                                         {16, 64, 16},
                                         {32, 32, 32},
                                         {16, 128, 16},
                                         {128, 16, 16},
                                         {128, 64, 8},
                                         {8, 4, 0, true},
                                         {8, 32, 0, true},
                                         {8, 256, 0, true},
                                         {8, 64, 0, true, true},
                                         {16, 128, 0, true, true},
                                         {32, 256, 0, true, true},
                                         // the transposed product (SWAP_OUT), 8 and 16 of C's columns per block
                                         {8, 64, 0, true, true, true},
                                         {16, 128, 0, true, true, true}};

// Runs body(tile) for each of kOtherTiles of the kernel set's paths (tiled for gpu, direct and
// broadcast for cpu: the suite runs on both sets) that fits the device.
template <class F>
void for_each_other_tile(F&& body) {
  const bool tiled_set = context().kernels().set == KernelSet::gpu;
  for (const auto& t : kOtherTiles) {
    if (t.direct == tiled_set) continue;
    if (!detail::gemm_tiles_fit(context().device(), t)) {
      WARN("tile " << t.m << "×" << t.n << "×" << t.k
                   << (t.swap        ? " (broadcast, swapped)"
                       : t.broadcast ? " (broadcast)"
                       : t.direct    ? " (direct)"
                                     : "")
                   << " does not fit this device; skipped");
      continue;
    }
    body(t);
  }
}

}  // namespace

TEST_CASE("gemm on awkward shapes", "[gemm]") {
  check_gemm(1, 1, 1, false, false);
  check_gemm(7, 5, 3, false, false);
  check_gemm(1, 257, 1, false, false);
  check_gemm(257, 1, 7, false, false);
  check_gemm(255, 257, 129, false, false);
  check_gemm(13, 17, 1031, false, false);
  check_gemm(64, 64, 16, false, false);  // exactly one default tile
  check_gemm(65, 63, 17, false, false);  // one past / short of it
}

TEST_CASE("gemm on an MLP layer shape (128 × 784 by 784 × 512)", "[gemm]") {
  check_gemm(128, 512, 784, false, true, 1, 0, 7);  // X · Wᵀ as in linear_forward
}

TEST_CASE("gemm with a result of more than 1M elements", "[gemm]") {
  check_gemm(3, (1u << 20) / 3 + 7, 2, false, false, 1, 0, 9);
}

TEST_CASE("gemm in all four transpose combinations", "[gemm]") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_gemm(7, 5, 3, ta, tb, 1, 0, 11);
      check_gemm(13, 17, 1031, ta, tb, 1, 0, 12);
      check_gemm(70, 37, 65, ta, tb, 1, 0, 13);
    }
  }
}

TEST_CASE("gemm with tile shapes other than this device's choice", "[gemm]") {
  uint64_t seed = 50;
  for_each_other_tile([&seed](const detail::GemmTiles& t) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        check_gemm(37, 41, 29, ta, tb, 1.5f, ta ? 0.5f : 0.0f, seed++, &t);
        // K and N multiples of 4: the direct paths' vec4 loads; beta != 0 catches a block that
        // writes rows outside its own (the next block's C would be read after it was updated).
        check_gemm(37, 44, 32, ta, tb, 1.5f, ta ? 0.5f : 0.0f, seed++, &t);
        check_gemm(37, 44, 32, ta, tb, 1.5f, ta ? 0.0f : 0.5f, seed++, &t);
        // M a multiple of 4: with Aᵀ the broadcast path loads 4 rows of op(A) per vec4 (VEC_M), here
        // with a K tail (33) and a partial last block of rows.
        check_gemm(40, 44, 33, ta, tb, 1.5f, 0.5f, seed++, &t);
      }
    }
  });
}

TEST_CASE("gemm with more rows than 65535 workgroups of blocks cover", "[gemm]") {
  // 600,000 rows: 75,000 blocks of 8 rows on the direct path (and the broadcast path's 8-row
  // tile), more than the 65,535 workgroups per dimension every device allows, so the grid is capped
  // and the main loop strides over the blocks. K and N are small so the run stays short.
  constexpr std::size_t M = 600000;
  for_each_gemm_path([] {
    check_gemm(M, 10, 8, false, false, 1, 0, 60);
    check_gemm(M, 5, 3, true, false, 1, 0, 61);
    check_gemm(M, 7, 4, false, true, 1, 0, 62);
    check_gemm(M, 9, 5, true, true, 1.5f, 0.5f, 63);
  });
  // The broadcast path picks the transposed product for these narrow results; its plain 8-row
  // block, and the swapped one, as forced tiles.
  if (context().kernels().set == KernelSet::gpu) return;
  for (const detail::GemmTiles t : {detail::GemmTiles{8, 64, 0, true, true}, {8, 64, 0, true, true, true}}) {
    if (!detail::gemm_tiles_fit(context().device(), t)) continue;  // no 8-wide subgroups
    check_gemm(M, 10, 8, false, true, 1, 0, 64, &t);
    check_gemm(M, 6, 4, true, false, 1, 0.5f, 65, &t);
  }
}

TEST_CASE("gemm refuses a tile beyond the shader's shared capacity", "[gemm]") {
  // gemm_tile.glsl declares kGemmSharedFloats floats of shared memory whatever the tile (a literal:
  // Metal cannot size shared memory by a specialization constant); a tile whose slices need more is
  // refused, saying why, even on a device with the shared memory for it.
  const detail::GemmTiles too_big{64, 32, 32};  // 32·(65 + 33) = 3136 floats
  REQUIRE(too_big.shared_floats() > detail::kGemmSharedFloats);
  DeviceInfo dev;
  dev.max_workgroup_invocations = dev.max_workgroup_size[0] = 1024;
  dev.max_shared_memory = 48 << 10;
  CHECK_FALSE(detail::gemm_tiles_fit(dev, too_big));
  CHECK(detail::gemm_tiles_fit(dev, detail::kGemmWideTile));
  CHECK(detail::gemm_tiles_fit(dev, detail::kGemmTallTile));
  CHECK(detail::gemm_tiles_fit(dev, detail::kGemmSquareTile));
  // The largest local size a launch of a shader with one shared element per invocation gets.
  CHECK(detail::default_local_size(dev) <= detail::kMaxLocalSize);

  Context& ctx = context();
  Tensor a(ctx, {8, 8}), b(ctx, {8, 8}), c(ctx, {8, 8});
  CommandList cmd(ctx);
  CHECK_THROWS_AS(detail::gemm_with_tiles(cmd, a, b, c, false, false, 1, 0, too_big), InvalidArgument);
  CHECK_THROWS_WITH(detail::gemm_with_tiles(cmd, a, b, c, false, false, 1, 0, too_big),
                    Catch::Contains("64×32×32") && Catch::Contains("3136") && Catch::Contains("2336") &&
                        Catch::Contains("VKGRAD_GEMM_SHARED_FLOATS"));
}

TEST_CASE("gemm on a device that allows only 3 workgroups per dimension", "[gemm]") {
  // Every shape here has more than 3 blocks in both dimensions with most tiles below (in the long
  // dimension of a 128-row or 128-column tile only 2 or 3), so each workgroup loops over several
  // blocks in x, y or both, with partial last blocks; beta != 0 catches a
  // block computed twice or by the wrong workgroup (its C would be read after it was updated).
  uint64_t seed = 70;
  auto shapes = [&seed](const detail::GemmTiles* t) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        check_gemm(203, 301, 9, ta, tb, 1.5f, 0.5f, seed++, t);
        check_gemm(200, 300, 8, ta, tb, 1, 0, seed++, t);  // multiples of 4: the vec4 loads and stores
      }
    }
  };
  for_each_gemm_path([&shapes] {
    limit_workgroup_count(3);
    shapes(nullptr);
  });
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  for_each_other_tile([&shapes](const detail::GemmTiles& t) { shapes(&t); });
}

TEST_CASE("gemm tile choice fits made-up devices' limits", "[gemm]") {
  struct Limits {
    const char* what;
    uint32_t invocations, shared, subgroup;
    bool ballot = false;
  } devices[] = {{"1024 threads, 48 KiB, subgroup 32", 1024, 48 << 10, 32},
                 {"1024 threads, 32 KiB, subgroup 8 with ballot (lavapipe on AVX2)", 1024, 32 << 10, 8, true},
                 {"1024 threads, 32 KiB, subgroup 4 with ballot", 1024, 32 << 10, 4, true},
                 {"1024 threads, 64 KiB, subgroup 64", 1024, 64 << 10, 64},
                 {"256 threads, 32 KiB, subgroup 8", 256, 32 << 10, 8},
                 {"128 threads, 16 KiB, subgroup 16", 128, 16 << 10, 16},
                 {"64 threads, 16 KiB, subgroup 64", 64, 16 << 10, 64},
                 {"128 threads, 2 KiB, no subgroup info", 128, 2 << 10, 0}};
  for (const auto& l : devices) {
    DeviceInfo dev;
    dev.max_workgroup_invocations = l.invocations;
    dev.max_workgroup_size[0] = l.invocations;
    dev.max_shared_memory = l.shared;
    dev.subgroup_size = l.subgroup;
    dev.subgroup_ballot = l.ballot;
    for (DeviceType type : {DeviceType::discrete_gpu, DeviceType::cpu}) {
      dev.type = type;
      for (const auto& [M, N] : {std::pair<uint64_t, uint64_t>{1, 1}, {1, 1000}, {1000, 1}, {1000, 1000}}) {
        // The automatic kernel set's path for this device type (explicitly automatic: VKGRAD_KERNELS
        // may be set for the run).
        const GemmPath path =
            detail::resolve_kernels(ContextOptions{}.set_kernels(KernelSet::automatic), dev).gemm_path;
        const auto t = detail::choose_gemm_tiles(dev, path, M, N);
        INFO(l.what << ", M=" << M << " N=" << N << ": tile " << t.m << "×" << t.n << "×" << t.k);
        CHECK(detail::gemm_tiles_fit(dev, t));
        CHECK(t.direct == (type == DeviceType::cpu));  // CPU devices take the shared-memory-free path
        // ... its broadcast variant where subgroups are 8 wide with ballot operations
        CHECK(t.broadcast == (type == DeviceType::cpu && l.subgroup == 8 && l.ballot));
        if (l.subgroup > 0 && l.subgroup <= l.invocations) CHECK(t.threads() % l.subgroup == 0);
        if (M >= 64 && N >= 64) CHECK(t.m * t.n >= 32 * 32);  // a big result gets a big tile
      }
    }
  }
}

TEST_CASE("gemm tile choice on a CPU device with 8-wide subgroups leaves few lanes idle", "[gemm]") {
  // llvmpipe-like: every lane of a block costs the same, in or out of the result, so the block
  // must cover the MLP's results (forward, dX and dW of 784-512-256-10 at batch 128, and a last
  // batch of 96) with under 1.7x their size in lanes, which the 10-wide ones only manage as the
  // transposed product.
  DeviceInfo dev;
  dev.type = DeviceType::cpu;
  dev.max_workgroup_invocations = dev.max_workgroup_size[0] = 1024;
  dev.max_shared_memory = 32 << 10;
  dev.subgroup_size = 8;
  dev.subgroup_ballot = true;
  for (const auto& [M, N] : {std::pair<uint64_t, uint64_t>{128, 512},
                             {128, 256},
                             {128, 10},
                             {128, 784},
                             {512, 784},
                             {256, 512},
                             {10, 256},
                             {96, 512}}) {
    const auto t = detail::choose_gemm_tiles(dev, GemmPath::broadcast, M, N);
    const uint64_t m = t.swap ? N : M, n = t.swap ? M : N;
    const uint64_t lanes = (m + t.m - 1) / t.m * t.m * ((n + t.n - 1) / t.n * t.n);
    INFO("M=" << M << " N=" << N << ": block " << t.m << "×" << t.n << (t.swap ? " (swapped)" : "") << ", " << lanes
              << " lanes");
    CHECK(t.broadcast);
    CHECK(detail::gemm_tiles_fit(dev, t));
    CHECK(double(lanes) <= 1.7 * double(M * N));
    // and the wide ones within 10 % (784 columns: not 2 blocks of 512, a quarter of them idle)
    if (M >= 64 && N >= 64) CHECK(double(lanes) <= 1.1 * double(M * N));
  }
}

TEST_CASE("gemm with alpha and beta", "[gemm]") {
  check_gemm(7, 5, 3, false, false, 2.5f, 0, 21);
  check_gemm(33, 65, 17, false, false, 1, 1, 22);
  check_gemm(33, 65, 17, true, true, -0.5f, 0.75f, 23);
  check_gemm(130, 9, 100, true, false, 0, 2, 24);  // alpha = 0: C = beta·C
}

TEST_CASE("gemm with large-magnitude inputs", "[gemm]") {
  // Products of ±1e4 × ±1e4 that cancel: the bound relative to Σ|a·b| still holds.
  Context& ctx = context();
  const std::size_t M = 9, N = 11, K = 300;
  auto a = uniform(M * K, -1e4f, 1e4f, 31);
  auto b = uniform(K * N, -1e4f, 1e4f, 32);
  Tensor tA = Tensor::from(ctx, {M, K}, a), tB = Tensor::from(ctx, {K, N}, b), tC(ctx, {M, N});
  tC.fill(poison);
  CommandList cmd(ctx);
  gemm(cmd, tA, tB, tC);
  cmd.run();
  require_no_validation_messages();
  std::vector<double> ref(M * N), mag(M * N), allowed(M * N);
  ref::gemm(a.data(), b.data(), ref.data(), M, N, K, false, false, 1, 0);
  ref::gemm_magnitude(a.data(), b.data(), mag.data(), M, N, K, false, false);
  for (std::size_t i = 0; i < M * N; ++i) allowed[i] = kSumRtol * mag[i] + kAtol;
  check_matrix(tC.to_vector(), ref, allowed, N, "gemm 9×300 by 300×11, entries up to ±1e4");
}

TEST_CASE("gemm: a NaN in A poisons only its own row", "[gemm]") {
  Context& ctx = context();
  for (bool ta : {false, true}) {
    const std::size_t M = 70, N = 67, K = 33, bad_row = 37, bad_k = 20;
    auto a = uniform(M * K, -1, 1, 41);
    (ta ? a[bad_k * M + bad_row] : a[bad_row * K + bad_k]) = std::numeric_limits<float>::quiet_NaN();
    const auto b = uniform(K * N, -1, 1, 42);
    Tensor tA = Tensor::from(ctx, ta ? Shape{K, M} : Shape{M, K}, a), tB = Tensor::from(ctx, {K, N}, b);
    Tensor tC(ctx, {M, N});
    tC.fill(poison);
    CommandList cmd(ctx);
    gemm(cmd, tA, tB, tC, ta, false);
    cmd.run();
    require_no_validation_messages();
    const auto c = tC.to_vector();
    std::size_t nan_in_row = 0, nan_elsewhere = 0;
    for (std::size_t i = 0; i < M * N; ++i) {
      if (std::isnan(c[i])) ++(i / N == bad_row ? nan_in_row : nan_elsewhere);
    }
    INFO("transpose_a " << ta);
    CHECK(nan_in_row == N);
    CHECK(nan_elsewhere == 0);
  }
}

TEST_CASE("gemm refuses mismatching shapes and names them all", "[gemm]") {
  Context& ctx = context();
  Tensor a(ctx, {4, 3}), b(ctx, {5, 6}), c(ctx, {4, 6}), c_bad(ctx, {4, 7}), v(ctx, {12});
  Tensor i32(ctx, {3, 6}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_AS(gemm(cmd, a, b, c), InvalidArgument);
  CHECK_THROWS_WITH(gemm(cmd, a, b, c),
                    Catch::Contains("[4, 3]") && Catch::Contains("[5, 6]") && Catch::Contains("[4, 6]"));
  Tensor b_ok(ctx, {3, 6});
  CHECK_THROWS_WITH(gemm(cmd, a, b_ok, c_bad), Catch::Contains("[4, 7]") && Catch::Contains("4×6"));
  CHECK_THROWS_WITH(gemm(cmd, a, b_ok, c, true, false), Catch::Contains("transposed"));
  CHECK_THROWS_WITH(gemm(cmd, v, b_ok, c), Catch::Contains("2-D") && Catch::Contains("[12]"));
  CHECK_THROWS_WITH(gemm(cmd, a, i32, c), Catch::Contains("f32"));
  Tensor sq(ctx, {4, 4}), sq2(ctx, {4, 4});
  CHECK_THROWS_WITH(gemm(cmd, sq, sq2, sq), Catch::Contains("same tensor"));
  CHECK(cmd.dispatch_count() == 0);
}

}  // namespace vkgrad::test
