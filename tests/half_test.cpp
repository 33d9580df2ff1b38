// f16 (IEEE 754 binary16) storage: the host conversions (vkgrad::to_half / to_float) against the
// double reference in tests/reference/half_ref.hpp, the device's cast against the host bit for bit,
// and gemm with f16 inputs (both, or one of A and B) against gemm of the same values in f32 (same
// summation order: the same bits from one module, within tolerance from two) on every GEMM path,
// with texel-buffer and storage-buffer loads.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "gemm_tiles.hpp"
#include "harness.hpp"
#include "reference/gemm_ref.hpp"
#include "reference/half_ref.hpp"
#include "vkgrad/cast.hpp"
#include "vkgrad/linear.hpp"
#include "vkgrad/safetensors.hpp"

namespace vkgrad::test {
namespace {

uint32_t bits_of(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}

float from_bits(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// Floats that probe every rounding case in every binade: for each sign and each of the 256 float
// exponents, mantissas around the 13 bits f32 -> f16 drops (exact, just below / at / above the
// halfway point, with an even and an odd kept bit), the extremes and random ones. Plus the edges
// of the half range. About 2^21 values.
std::vector<float> rounding_probes() {
  std::vector<uint32_t> mantissas = {0x000000, 0x000001, 0x000fff, 0x001000, 0x001001, 0x001fff, 0x002000,
                                     0x002fff, 0x003000, 0x003001, 0x7fe000, 0x7fefff, 0x7ff000, 0x7ff001,
                                     0x7fffff, 0x400000, 0x400001, 0x3ff000, 0x5ff000, 0x0007ff};
  std::mt19937 rng(7);
  while (mantissas.size() < 4096) mantissas.push_back(rng() & 0x7fffffu);
  std::vector<float> v;
  v.reserve(2 * 256 * mantissas.size() + 16);
  for (uint32_t sign : {0u, 0x80000000u}) {
    for (uint32_t e = 0; e < 256; ++e) {
      for (uint32_t m : mantissas) v.push_back(from_bits(sign | (e << 23) | m));
    }
  }
  for (float f : {65504.0f, 65519.996f, 65520.0f, 65535.0f, 0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.000002p-25f, 0x1.8p-24f,
                  1e4f, -1e4f, 0.0f, -0.0f})
    v.push_back(f);
  return v;
}

// Equal bits, or both NaN (whose payloads the two paths need not agree on).
std::string differences(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return "sizes differ";
  std::size_t count = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    if (bits_of(got[i]) != bits_of(want[i]) && count++ == 0) first = i;
  }
  if (count == 0) return "";
  std::ostringstream s;
  s << count << " of " << got.size() << " differ; first [" << first << "]: " << got[first] << " vs " << want[first];
  return s.str();
}

std::string half_differences(const std::vector<half>& got, const std::vector<half>& want) {
  if (got.size() != want.size()) return "sizes differ";
  std::size_t count = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].bits != want[i].bits && count++ == 0) first = i;
  }
  if (count == 0) return "";
  std::ostringstream s;
  s << count << " of " << got.size() << " differ; first [" << first << "]: 0x" << std::hex << got[first].bits
    << " vs 0x" << want[first].bits;
  return s.str();
}

}  // namespace

TEST_CASE("half: to_float of every binary16 value matches the reference", "[half]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const double want = ref::half_value(uint16_t(h));
    const float got = to_float(half{uint16_t(h)});
    INFO("half 0x" << std::hex << h);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
      // The payload is kept: converting back gives the same bits (the quiet bit is already set
      // for quiet NaNs; signaling ones come back quiet).
      REQUIRE(to_half(got).bits == (h | 0x200u));
    } else {
      REQUIRE(double(got) == want);
      REQUIRE(std::signbit(got) == bool(h & 0x8000u));
      REQUIRE(to_half(got).bits == h);  // every half survives the round trip
    }
  }
}

TEST_CASE("half: to_half rounds to nearest even in every binade", "[half]") {
  const auto probes = rounding_probes();
  std::size_t bad = 0;
  for (float f : probes) {
    const half h = to_half(f);
    const double want = ref::round_to_half(double(f));
    const float got = to_float(h);
    const bool ok = std::isnan(want) ? std::isnan(got) && (h.bits & 0x200u)
                                     : double(got) == want && std::signbit(got) == std::signbit(f);
    if (!ok && bad++ < 5) {
      UNSCOPED_INFO(std::hexfloat << f << " -> 0x" << std::hex << h.bits << std::defaultfloat << " = " << got
                                  << ", reference " << want);
    }
  }
  CHECK(bad == 0);
  // The edges, spelled out.
  CHECK(to_half(65504.0f).bits == 0x7bffu);
  CHECK(to_half(65519.996f).bits == 0x7bffu);
  CHECK(to_half(65520.0f).bits == 0x7c00u);  // halfway to 2^16 ties to even: infinity
  CHECK(to_half(-std::numeric_limits<float>::infinity()).bits == 0xfc00u);
  CHECK(to_half(0x1p-24f).bits == 0x0001u);
  CHECK(to_half(0x1p-25f).bits == 0x0000u);           // halfway between 0 and 2^-24: to even 0
  CHECK(to_half(0x1.8p-24f).bits == 0x0002u);         // 1.5 · 2^-24: to even 2
  CHECK(to_half(-0x1p-30f).bits == 0x8000u);          // underflow keeps the sign
  CHECK(to_half(1e-42f).bits == 0x0000u);             // a float denormal
  CHECK(to_half(0x1.ffcp-15f).bits == 0x0400u);       // rounds up out of the subnormals
  CHECK(to_half(1.0f + 0x1p-11f).bits == 0x3c00u);    // tie: to even 1.0
  CHECK(to_half(1.0f + 0x1.8p-10f).bits == 0x3c02u);  // tie: to even 1 + 2^-9
}

TEST_CASE("cast: f16 -> f32 of every binary16 value gives the host's bits", "[half][cast]") {
  Context& ctx = context();
  for (uint32_t n : {1u, 7u, 255u, 257u, 65536u}) {
    std::vector<half> all(n);
    for (uint32_t i = 0; i < n; ++i) all[i] = half{uint16_t((i * 40503u + 0x7c00u) & 0xffffu)};
    if (n == 65536u) {
      for (uint32_t i = 0; i < n; ++i) all[i] = half{uint16_t(i)};
    }
    Tensor src = Tensor::from<half>(ctx, {n}, all);
    Tensor dst(ctx, {n});
    dst.fill(poison);
    CommandList cmd(ctx);
    cast(cmd, src, dst);
    cmd.run();
    require_no_validation_messages();
    const auto got = dst.to_vector();
    std::size_t bad = 0;
    for (uint32_t i = 0; i < n; ++i) {
      // Bit for bit, NaN payloads included: the shader decodes the bits, no float conversion.
      if (bits_of(got[i]) != bits_of(to_float(all[i])) && bad++ < 3) {
        UNSCOPED_INFO("[" << i << "] half 0x" << std::hex << all[i].bits << " -> 0x" << bits_of(got[i]) << ", host 0x"
                          << bits_of(to_float(all[i])));
      }
    }
    INFO("n = " << n);
    CHECK(bad == 0);
  }
}

TEST_CASE("cast: f32 -> f16 rounds as the host does, at awkward sizes and over 1M elements", "[half][cast]") {
  Context& ctx = context();
  const auto probes = rounding_probes();  // > 2M values, every rounding case
  for (std::size_t n :
       {std::size_t(1), std::size_t(7), std::size_t(255), std::size_t(257), std::size_t(1031), probes.size()}) {
    std::vector<float> v(probes.begin(), probes.begin() + n);
    if (n < probes.size()) {
      // The interesting values at the small sizes too: the tail of the probes holds the edges.
      for (std::size_t i = 0; i < n && i < 13; ++i) v[i] = probes[probes.size() - 1 - i];
    }
    Tensor src = Tensor::from(ctx, {n}, v);
    Tensor dst(ctx, {n}, DType::f16);
    dst.fill(poison);
    CommandList cmd(ctx);
    cast(cmd, src, dst);
    cmd.run();
    require_no_validation_messages();
    INFO("n = " << n);
    CHECK(half_differences(dst.to_vector<half>(), to_half(std::span<const float>(v))) == "");
  }
}

TEST_CASE("cast: odd lengths round-trip through f16", "[half][cast]") {
  // With odd n the f32 -> f16 shader ends on a word holding one element (the tail path, which
  // keeps the word's other half); f16 -> f32 reads that word back.
  Context& ctx = context();
  const std::vector<float> v = {1.0f, -2.5f, 65504.0f, 1e-5f, -0.0f, 3.14159f, 70000.0f};
  Tensor src = Tensor::from(ctx, {7}, v);
  Tensor mid(ctx, {7}, DType::f16);
  Tensor back(ctx, {7});
  mid.fill(poison);
  back.fill(poison);
  CommandList cmd(ctx);
  cast(cmd, src, mid);
  cast(cmd, mid, back);
  cmd.run();
  require_no_validation_messages();
  std::vector<float> want(7);
  for (int i = 0; i < 7; ++i) want[i] = to_float(to_half(v[i]));
  CHECK(differences(back.to_vector(), want) == "");
  CHECK(std::isinf(back.to_vector()[6]));
}

TEST_CASE("cast refuses what it cannot convert and names it", "[half][cast]") {
  Context& ctx = context();
  Tensor f32a(ctx, {4}), f32b(ctx, {4}), f16(ctx, {4}, DType::f16), f16_other(ctx, {2, 2}, DType::f16);
  Tensor i32(ctx, {4}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(cast(cmd, f32a, f32b), Catch::Contains("cast") && Catch::Contains("'f32' src and 'f32' dst"));
  CHECK_THROWS_WITH(cast(cmd, i32, f16), Catch::Contains("'i32' src"));
  CHECK_THROWS_WITH(cast(cmd, f32a, f16_other), Catch::Contains("same shape"));
  CHECK_THROWS_AS(cast(cmd, Tensor{}, f16), InvalidArgument);
}

TEST_CASE("half: f16 tensors upload, download, fill and refuse f32 host data", "[half]") {
  Context& ctx = context();
  const std::vector<half> h = {to_half(1.0f), to_half(-2.0f), to_half(0.5f)};
  Tensor t = Tensor::from<half>(ctx, {3}, h);
  CHECK(t.dtype() == DType::f16);
  CHECK(t.size_bytes() == 6);
  CHECK(half_differences(t.to_vector<half>(), h) == "");
  t.fill(-3.0f);
  CHECK(half_differences(t.to_vector<half>(), std::vector<half>(3, to_half(-3.0f))) == "");
  CHECK_THROWS_WITH(t.upload(std::vector<float>{1, 2, 3}),
                    Catch::Contains("host data is f32") && Catch::Contains("f16"));
  CHECK(std::string(to_string(DType::f16)) == "f16");
  CHECK(dtype_size(DType::f16) == 2);
}

TEST_CASE("half: f16 tensors go through safetensors checkpoints as F16", "[half][safetensors]") {
  Context& ctx = context();
  TempDir dir("half_safetensors");
  const auto values = to_half(std::span<const float>(uniform(13, -100, 100, 5)));
  Tensor t = Tensor::from<half>(ctx, {13}, values);
  save_safetensors(dir.path / "h.safetensors", {{"w", to_host(t)}});
  const SafetensorsFile file = load_safetensors(dir.path / "h.safetensors");
  REQUIRE(file.find("w") != nullptr);
  CHECK(file.find("w")->dtype == "F16");
  CHECK(file.find("w")->bytes.size() == 26);
  Tensor back(ctx, {13}, DType::f16);
  load_into(*file.find("w"), back, "w");
  CHECK(half_differences(back.to_vector<half>(), values) == "");
  Tensor wrong(ctx, {13});
  CHECK_THROWS_WITH(load_into(*file.find("w"), wrong, "w"), Catch::Contains("is F16 [13] but the model expects F32"));
}

namespace {

// Values for an f16 gemm: uniform in [-1, 1) rounded to f16, with every `special_every`-th one a
// special value (specials empty: none).
std::vector<half> half_inputs(std::size_t n, uint64_t seed, const std::vector<float>& specials = {}) {
  auto v = to_half(std::span<const float>(uniform(n, -1, 1, seed)));
  for (std::size_t i = 0, s = 0; !specials.empty() && i < n; i += 5, ++s) v[i] = to_half(specials[s % specials.size()]);
  return v;
}

// A tensor of `values`: f16 when `f16`, else the same values as f32.
Tensor half_or_float(Context& ctx, Shape shape, const std::vector<half>& values, bool f16) {
  return f16 ? Tensor::from<half>(ctx, shape, values)
             : Tensor::from(ctx, shape, to_float(std::span<const half>(values)));
}

// Which code the f16 and the f32 runs of a GEMM on `ctx` take: the texel build reads f16 through
// the tensor's R16G16B16A16_SFLOAT view, so both run one module; storage-buffer loads (and the tiled
// path, which reads storage buffers only) run the _f16 build for f16, a separately compiled module.
Modules f16_modules(const Context& ctx) {
  return ctx.texel_loads() && ctx.kernels().gemm_path != GemmPath::tiled ? Modules::same : Modules::separate;
}

// gemm with A and/or B in f16 (a16, b16) and gemm of the same values all in f32, on one context: the
// f16 path converts each value exactly and sums in the f32 path's order, so one module gives the
// same bits and two agree within run_differences' tolerance (scale α·Σ|a·b| + |β·c|).
std::string f16_vs_f32(Context& ctx, uint64_t M, uint64_t N, uint64_t K, bool ta, bool tb, float alpha, float beta,
                       const std::vector<float>& specials, uint64_t seed, bool a16 = true, bool b16 = true) {
  const auto a = half_inputs(M * K, seed, specials), b = half_inputs(K * N, seed + 1, specials);
  const auto c0 = uniform(M * N, -1, 1, seed + 2);
  const Shape sa = ta ? Shape{K, M} : Shape{M, K}, sb = tb ? Shape{N, K} : Shape{K, N};
  Tensor A16 = half_or_float(ctx, sa, a, a16), B16 = half_or_float(ctx, sb, b, b16);
  Tensor A32 = Tensor::from(ctx, sa, to_float(std::span<const half>(a)));
  Tensor B32 = Tensor::from(ctx, sb, to_float(std::span<const half>(b)));
  Tensor C16 = Tensor::from(ctx, {M, N}, c0), C32 = Tensor::from(ctx, {M, N}, c0);
  if (beta == 0) C16.fill(poison), C32.fill(poison);
  CommandList cmd(ctx);
  gemm(cmd, A16, B16, C16, ta, tb, alpha, beta);
  gemm(cmd, A32, B32, C32, ta, tb, alpha, beta);
  cmd.run();
  require_no_validation_messages();
  std::vector<double> scale(M * N);
  const auto af = to_float(std::span<const half>(a)), bf = to_float(std::span<const half>(b));
  ref::gemm_magnitude(af.data(), bf.data(), scale.data(), M, N, K, ta, tb);
  for (std::size_t i = 0; i < scale.size(); ++i) scale[i] = std::fabs(alpha) * scale[i] + std::fabs(beta * c0[i]);
  return run_differences(C16.to_vector(), C32.to_vector(), f16_modules(ctx), scale);
}

}  // namespace

TEST_CASE("gemm with f16 inputs agrees with the f32 path on every GEMM path and load kind", "[gemm][half]") {
  struct Dims {
    uint64_t M, N, K;
  };
  const float inf = std::numeric_limits<float>::infinity();
  // Extremes an f16 holds: the largest, the smallest subnormal, zeros, infinities, NaN.
  const std::vector<float> specials = {
      65504.0f, -65504.0f, 0x1p-24f, -0x1p-24f, 0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN()};
  uint64_t seed = 100;
  for (const bool texel_loads : {true, false}) {
    for (const auto path : kernel_set_gemm_paths()) {
      if (path == GemmPath::tiled && texel_loads) continue;  // the tiled path reads storage buffers only
      Context ctx{ContextOptions{}.set_texel_loads(texel_loads).set_gemm_path(path)};
      for (const Dims s :
           {Dims{1, 1, 1}, Dims{7, 5, 3}, Dims{33, 17, 12}, Dims{37, 44, 33}, Dims{128, 10, 256}, Dims{10, 256, 128}}) {
        for (bool ta : {false, true}) {
          for (bool tb : {false, true}) {
            const bool with_specials = s.M == 33;
            INFO((texel_loads ? (ctx.texel_loads() ? "texel loads" : "texel loads unsupported") : "storage loads")
                 << ", path " << to_string(path) << ", M=" << s.M << " N=" << s.N << " K=" << s.K << " ta=" << ta
                 << " tb=" << tb << (with_specials ? " with specials" : ""));
            CHECK(f16_vs_f32(ctx, s.M, s.N, s.K, ta, tb, 1.5f, ta ? 0.25f : 0.0f,
                             with_specials ? specials : std::vector<float>{}, seed++) == "");
          }
        }
      }
    }
  }
}

TEST_CASE("gemm with one input f16 and the other f32 gives the f32 path's bits", "[gemm][half]") {
  // f16 weights times f32 activations and the reverse. With texel loads each binding has its own
  // view, so the shader is the f32 one; the storage-buffer builds select the f16 bindings by a
  // specialization constant, checked here on every path (each combination is a pipeline of its
  // own, compiled by llvmpipe in up to a second or two, hence fewer shapes than above).
  const std::vector<float> specials = {65504.0f, 0x1p-24f, -0.0f, std::numeric_limits<float>::infinity(),
                                       std::numeric_limits<float>::quiet_NaN()};
  uint64_t seed = 300;
  for (const auto path : kernel_set_gemm_paths()) {
    Context plain{ContextOptions{}.set_texel_loads(false).set_gemm_path(path)};
    for (const bool a16 : {true, false}) {
      // K % 4 == 0 with the specials (the vec4 loads), then K and M odd (the scalar ones).
      INFO("storage loads, path " << to_string(path) << ", A " << (a16 ? "f16" : "f32") << ", B "
                                  << (a16 ? "f32" : "f16"));
      CHECK(f16_vs_f32(plain, 33, 17, 12, false, true, 1.5f, 0.0f, specials, seed++, a16, !a16) == "");
      CHECK(f16_vs_f32(plain, 37, 44, 33, true, false, 1.5f, 0.25f, {}, seed++, a16, !a16) == "");
    }
  }
  Context& ctx = context();  // the kernel set's loads and path
  CHECK(f16_vs_f32(ctx, 33, 17, 12, false, true, 1.5f, 0.0f, specials, seed++, true, false) == "");
  CHECK(f16_vs_f32(ctx, 37, 44, 33, true, false, 1.5f, 0.25f, {}, seed++, false, true) == "");
}

TEST_CASE("linear forward and backward with f16 X and/or W agree with the f32 path", "[linear][half]") {
  // The fused epilogue (bias + activation) reads the f32 accumulators; with f16 inputs converted
  // exactly, every output must equal the f32 layer's on the same values, on every path: the same
  // bits from one module, within run_differences' tolerance from two (f16_modules). (relu: the
  // epilogue's activation is folded in at pipeline creation, which llvmpipe takes seconds for with
  // the transcendental ones; the path through the epilogue is the same for all of them.) The tiled
  // path never reads through texel views, so it runs on the storage-buffer context only.
  const uint64_t N = 19, in = 36, out = 10;
  const auto x = half_inputs(N * in, 400), w = half_inputs(out * in, 401);
  const auto bias = uniform(out, -1, 1, 402), dy = uniform(N * out, -1, 1, 403);
  // The scale of each output's terms (they may cancel): Y Σ|x·w| + |b|, dX Σ|dy·w|, dW Σ|dy·x|, db Σ|dy|.
  const auto xf = to_float(std::span<const half>(x)), wf = to_float(std::span<const half>(w));
  std::vector<double> y_scale(N * out), dx_scale(N * in, 0.0), dw_scale(out * in, 0.0), db_scale(out, 0.0);
  for (uint64_t n = 0; n < N; ++n) {
    for (uint64_t o = 0; o < out; ++o) {
      const double g = std::fabs(dy[n * out + o]);
      double sum = std::fabs(bias[o]);
      for (uint64_t i = 0; i < in; ++i) {
        sum += std::fabs(double(xf[n * in + i]) * wf[o * in + i]);
        dx_scale[n * in + i] += g * std::fabs(wf[o * in + i]);
        dw_scale[o * in + i] += g * std::fabs(xf[n * in + i]);
      }
      y_scale[n * out + o] = sum;
      db_scale[o] += g;
    }
  }
  std::vector<double> scale = y_scale;
  for (const auto* part : {&dx_scale, &dw_scale, &db_scale}) scale.insert(scale.end(), part->begin(), part->end());
  for (const bool storage_loads : {false, true}) {
    for (const auto path : kernel_set_gemm_paths()) {
      if (path == GemmPath::tiled && !storage_loads) continue;
      ContextOptions options;
      options.set_gemm_path(path);
      if (storage_loads) options.set_texel_loads(false);
      Context context_for_path{options};
      Context* ctx = &context_for_path;
      for (const auto& [x16, w16] : {std::pair{true, true}, std::pair{false, true}, std::pair{true, false}}) {
        INFO((storage_loads ? "storage loads" : "default loads")
             << ", path " << to_string(path) << ", X " << (x16 ? "f16" : "f32") << ", W " << (w16 ? "f16" : "f32"));
        std::vector<float> results[2];
        for (int f = 0; f < 2; ++f) {
          Tensor X = half_or_float(*ctx, {N, in}, x, f == 0 && x16),
                 W = half_or_float(*ctx, {out, in}, w, f == 0 && w16);
          Tensor b = Tensor::from(*ctx, {out}, bias), dY = Tensor::from(*ctx, {N, out}, dy);
          Tensor Y(*ctx, {N, out}), dX(*ctx, {N, in}), dW(*ctx, {out, in}), db(*ctx, {out});
          for (Tensor* t : {&Y, &dX, &dW, &db}) t->fill(poison);
          CommandList cmd(*ctx);
          linear_forward(cmd, X, W, b, Y, Activation::relu);
          linear_backward(cmd, X, W, dY, dX, dW, db);
          cmd.run();
          for (const Tensor* t : {&Y, &dX, &dW, &db}) {
            const auto v = t->to_vector();
            results[f].insert(results[f].end(), v.begin(), v.end());
          }
        }
        require_no_validation_messages();
        CHECK(run_differences(results[0], results[1], f16_modules(*ctx), scale) == "");
      }
    }
  }
}

TEST_CASE("gemm with f16 inputs matches the double reference on an MLP shape", "[gemm][half]") {
  // The f16 values are exact in f32, so the reference is the f32 reference of those values and the
  // error model is gemm_test.cpp's: |gpu − ref| ≤ 1e-5·Σ_k|a·b| + 1e-6 (f32 accumulation).
  Context& ctx = context();
  const uint64_t M = 128, N = 512, K = 784;
  const auto a = half_inputs(M * K, 3), b = half_inputs(N * K, 4);
  const auto af = to_float(std::span<const half>(a)), bf = to_float(std::span<const half>(b));
  Tensor A = Tensor::from<half>(ctx, {M, K}, a), B = Tensor::from<half>(ctx, {N, K}, b);
  Tensor C(ctx, {M, N});
  C.fill(poison);
  CommandList cmd(ctx);
  gemm(cmd, A, B, C, false, true);
  cmd.run();
  require_no_validation_messages();
  std::vector<double> ref(M * N), mag(M * N);
  ref::gemm(af.data(), bf.data(), ref.data(), M, N, K, false, true, 1.0, 0.0);
  ref::gemm_magnitude(af.data(), bf.data(), mag.data(), M, N, K, false, true);
  const auto got = C.to_vector();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) bad += !close(got[i], ref[i], 0.0, 1e-5 * mag[i] + 1e-6);
  CHECK(bad == 0);
}

TEST_CASE("gemm refuses an f16 result and inputs that are neither f32 nor f16", "[gemm][half]") {
  Context& ctx = context();
  Tensor A16(ctx, {4, 3}, DType::f16), C16(ctx, {4, 2}, DType::f16);
  Tensor B16(ctx, {3, 2}, DType::f16), I(ctx, {3, 2}, DType::i32), C(ctx, {4, 2});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(gemm(cmd, A16, B16, C16), Catch::Contains("'C' must be a 2-D f32"));
  CHECK_THROWS_WITH(gemm(cmd, A16, I, C), Catch::Contains("'B' must be a 2-D f32 or f16"));
}

}  // namespace vkgrad::test
