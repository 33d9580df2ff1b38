// Kernel selection and launch configuration against other GPUs' limits (tests/device_profiles.cpp):
// for each profile, the kernel choice, the local sizes, the GEMM tiles, the grids and the
// descriptor counts the launchers pick stay within what the device allows, and every embedded module
// needs only features the choice checked (no 64-bit floats or atomics; 64-bit integers only in the
// texel builds, which run only with shaderInt64). Then GEMMs and a whole training step (data
// gathering, Linear, BatchNorm1d, ReLU, Dropout, cross-entropy, metrics, Adam) run here with each
// profile's limits in place of lavapipe's, so every dispatch passes the recorder's checks (workgroup
// size, grid, descriptors) against the profile and computes the right result. The conformance tests
// run with a profile too: VKGRAD_TEST_DEVICE_PROFILE=<key> (tests/harness.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "context_impl.hpp"
#include "cpu_kernels.hpp"
#include "device_profiles.hpp"
#include "gemm_tiles.hpp"
#include "harness.hpp"
#include "kernel_select.hpp"
#include "nn_fixtures.hpp"
#include "shader_registry.hpp"

namespace vkgrad::test {
namespace {

std::vector<uint32_t> profile_module_words(const detail::ShaderBinary& bin) {
  std::vector<uint32_t> words(bin.size / 4);
  std::memcpy(words.data(), bin.data, bin.size);
  return words;
}

// The OpCapability operands a module declares (SPIR-V specification, section 3: OpCapability = 17).
std::vector<uint32_t> declared_capabilities(const std::vector<uint32_t>& words) {
  std::vector<uint32_t> out;
  for (std::size_t i = 5; i < words.size() && (words[i] >> 16) > 0; i += words[i] >> 16) {
    if ((words[i] & 0xffffu) == 17 && (words[i] >> 16) == 2) out.push_back(words[i + 1]);
  }
  return out;
}

constexpr uint32_t kCapFloat64 = 10, kCapInt64 = 11, kCapInt64Atomics = 12;

// Result shapes that exercise each tile rule: single rows and columns, thin results, primes, sizes
// just past a power of two, and more blocks than one grid dimension holds.
const uint64_t kProfileGemmSizes[] = {1, 7, 16, 17, 255, 257, 1021, 4096, 1u << 20};

bool fits_profile_workgroup(const DeviceInfo& dev, uint64_t x, uint64_t y = 1) {
  return x >= 1 && y >= 1 && x <= dev.max_workgroup_size[0] && y <= dev.max_workgroup_size[1] &&
         x * y <= dev.max_workgroup_invocations;
}

}  // namespace

TEST_CASE("device profiles: every profile's kernel choice uses only what the device has", "[device_limits]") {
  for (const auto& [key, dev] : device_profiles()) {
    INFO(key);
    // Every Vulkan device has these; the shaders' shared arrays are sized to fit them
    // (shaders/shared_sizes.h, checked per module at build time).
    REQUIRE(dev.max_shared_memory >= 16384);
    REQUIRE(dev.max_workgroup_invocations >= 128);
    for (const auto set : {KernelSet::gpu, KernelSet::cpu}) {
      for (const auto path : {GemmPath::tiled, GemmPath::direct, GemmPath::broadcast}) {
        ContextOptions o;
        o.kernels = set;
        o.gemm_path = path;
        o.texel_loads = true;
        o.subgroup_reductions = true;
        const KernelChoice k = detail::resolve_kernels(o, dev);
        INFO(to_string(set) << " kernels, " << to_string(path) << " GEMM asked for");
        CHECK(k.set == set);
        // Texel loads store 64-bit words: only with shaderInt64.
        CHECK(k.texel_loads == dev.shader_int64);
        CHECK(k.subgroup_reductions == dev.subgroup_arithmetic);
        // The broadcast GEMM is written for 8-lane subgroups; no profile GPU has them.
        if (path == GemmPath::broadcast) CHECK(k.gemm_path == GemmPath::direct);
      }
    }
    // An automatic choice on a GPU is the GPU kernel set.
    if (dev.type != DeviceType::other) CHECK(detail::resolve_kernels(ContextOptions{}, dev).set == KernelSet::gpu);
  }
}

TEST_CASE("device profiles: local sizes, GEMM tiles and grids fit every profile", "[device_limits]") {
  for (const auto& [key, dev] : device_profiles()) {
    INFO(key);
    const uint32_t local = detail::default_local_size(dev);
    CHECK(fits_profile_workgroup(dev, local));
    CHECK(local <= detail::kMaxLocalSize);
    // The cpu kernel set's fixed local sizes.
    CHECK(fits_profile_workgroup(dev, detail::cpu::kRowsPerWorkgroup));
    CHECK(fits_profile_workgroup(dev, detail::cpu::kColumnLocal));
    CHECK(fits_profile_workgroup(dev, detail::cpu::kSingleGroupLocal));
    for (const auto path : {GemmPath::tiled, GemmPath::direct, GemmPath::broadcast}) {
      for (const uint64_t M : kProfileGemmSizes) {
        for (const uint64_t N : kProfileGemmSizes) {
          const detail::GemmTiles t = detail::choose_gemm_tiles(dev, path, M, N);
          INFO(to_string(path) << " M=" << M << " N=" << N << ": tile " << t.m << "x" << t.n << "x" << t.k);
          REQUIRE(detail::gemm_tiles_fit(dev, t));
          CHECK(fits_profile_workgroup(dev, t.threads()));
          CHECK(t.shared_bytes() <= dev.max_shared_memory);
          CHECK(t.shared_floats() <= detail::kGemmSharedFloats);
          // The tiled GEMM fills at least one subgroup where the limits allow it.
          if (path == GemmPath::tiled && dev.subgroup_size <= dev.max_workgroup_invocations / 4) {
            CHECK(t.threads() >= std::min<uint32_t>(dev.subgroup_size, 64));
          }
        }
      }
    }
    for (int d = 0; d < 3; ++d) {
      for (const uint64_t groups :
           {uint64_t(1), uint64_t(65535), uint64_t(65536), uint64_t(1) << 32, uint64_t(1) << 40}) {
        const uint32_t g = detail::capped_workgroups(dev, d, groups);
        CHECK(g >= 1);
        CHECK(g <= dev.max_workgroup_count[d]);
        CHECK(g <= std::max<uint64_t>(groups, 1));
      }
    }
  }
}

TEST_CASE("device profiles: every module binds what the profiles allow and needs no unchecked feature",
          "[device_limits]") {
  std::size_t modules = 0;
  for (const auto& module : detail::shader_binaries()) {
    INFO(module.name);
    ++modules;
    const auto words = profile_module_words(module);
    const auto caps = declared_capabilities(words);
    const auto has = [&](uint32_t cap) { return std::find(caps.begin(), caps.end(), cap) != caps.end(); };
    CHECK_FALSE(has(kCapFloat64));
    CHECK_FALSE(has(kCapInt64Atomics));
    // 64-bit integers only where the texel loads (enabled only with shaderInt64) use them.
    if (has(kCapInt64)) CHECK((module.variant & detail::kVariantTexel) != 0);

    const auto kinds = detail::reflect_bindings(words);
    detail::Kernel kernel;
    kernel.shader = module.name;
    kernel.bindings = static_cast<uint32_t>(kinds.size());
    for (std::size_t b = 0; b < kinds.size(); ++b) {
      if (kinds[b] == detail::BindingKind::texel_float || kinds[b] == detail::BindingKind::texel_uint) {
        kernel.texel_bindings |= 1u << b;
      }
    }
    for (const auto& [key, dev] : device_profiles()) {
      INFO(key);
      if (key == "vulkan-1.1-minimum") {
        // Four storage buffers per stage: a module binding more is refused with a message, not run.
        try {
          detail::check_descriptor_limits(dev, kernel, module.name);
        } catch (const UnsupportedError& e) {
          CHECK_THAT(e.what(), Catch::Contains("maxPerStageDescriptor"));
        }
      } else {
        CHECK_NOTHROW(detail::check_descriptor_limits(dev, kernel, module.name));
      }
    }
  }
  CHECK(modules > 100);
}

TEST_CASE("device profiles: the workgroup size is read from the module and its specialization", "[device_limits]") {
  // reduce_rows declares local_size_x_id = 0: the specialization sets it, else the GLSL default.
  const auto words = profile_module_words(detail::shader_binary("reduce_rows"));
  const std::vector<uint32_t> spec = {96};
  CHECK(detail::reflect_workgroup_size(words, spec) == std::array<uint32_t, 3>{96, 1, 1});
  const auto defaults = detail::reflect_workgroup_size(words, {});
  CHECK(defaults[0] >= 1);
  CHECK(defaults[1] == 1);
  CHECK(defaults[2] == 1);

  DeviceInfo dev = device_profile("vulkan-1.1-minimum");
  detail::Kernel kernel;
  kernel.shader = "reduce_rows";
  kernel.specialization = {128};
  CHECK_NOTHROW(detail::check_workgroup_limits(dev, kernel, "reduce_rows"));
  kernel.specialization = {256};
  CHECK_THROWS_WITH(detail::check_workgroup_limits(dev, kernel, "reduce_rows"),
                    Catch::Contains("256") && Catch::Contains("maxComputeWorkGroupSize"));
  dev.max_workgroup_size[0] = 1024;
  CHECK_THROWS_WITH(detail::check_workgroup_limits(dev, kernel, "reduce_rows"),
                    Catch::Contains("maxComputeWorkGroupInvocations"));
}

TEST_CASE("device profiles: GEMMs and a training step run here with each profile's limits", "[device_limits]") {
  for (const auto& [key, profile] : device_profiles()) {
    INFO(key);
    ContextOptions options;
    ScopedContext scoped([&](ContextOptions& o) { options = o; });
    Context& ctx = context();
    adopt_device_profile(ctx, profile, options);
    INFO(ctx.device().name << ": " << to_string(ctx.kernels().set) << " kernels, " << to_string(ctx.kernels().gemm_path)
                           << " GEMM");

    for (const auto& [M, N, K] : {std::array<uint64_t, 3>{1, 1, 1}, {7, 257, 13}, {255, 3, 64}, {67, 129, 35}}) {
      const auto a = uniform(M * K, -1, 1, M), b = uniform(K * N, -1, 1, N);
      Tensor tA = Tensor::from(ctx, {M, K}, a), tB = Tensor::from(ctx, {K, N}, b), tC(ctx, {M, N});
      tC.fill(poison);
      CommandList cmd(ctx);
      gemm(cmd, tA, tB, tC);
      cmd.run();
      const auto c = tC.to_vector();
      std::vector<double> ref(M * N, 0.0);
      for (uint64_t i = 0; i < M; ++i) {
        for (uint64_t j = 0; j < N; ++j) {
          double sum = 0, magnitude = 0;
          for (uint64_t k = 0; k < K; ++k) {
            sum += double(a[i * K + k]) * b[k * N + j];
            magnitude += std::fabs(double(a[i * K + k]) * b[k * N + j]);
          }
          ref[i * N + j] = sum;
          // A float sum of K products rounds each partial sum: K ulps of the largest magnitude.
          INFO("gemm " << M << "x" << N << "x" << K << " at " << i << "," << j);
          REQUIRE(close(c[i * N + j], sum, 0, 1e-6 + 1.2e-7 * K * magnitude));
        }
      }
    }

    // Four storage buffers per stage cannot hold the optimizers' and losses' bindings (refused, as
    // the module test above shows); the GEMM binds three.
    if (key == "vulkan-1.1-minimum") continue;
    auto train_set = synthetic(ctx, 301, 24, 3, 1), test_set = synthetic(ctx, 97, 24, 3, 2);
    nn::Sequential model(ctx);
    build_mlp(model, 24, 16, 3, 0.2f, 9);
    nn::CrossEntropyLoss loss(ctx);
    nn::Adam opt(model, AdamOptions{.lr = 1e-2f});
    nn::TrainerOptions o;
    o.batch = 32;
    o.seed = 4;
    nn::Trainer trainer(ctx, model, loss, opt, o);
    std::vector<double> losses;
    for (int epoch = 0; epoch < 3; ++epoch) losses.push_back(trainer.train_epoch(train_set).loss);
    const nn::Metrics test = trainer.evaluate(test_set);
    CHECK(std::isfinite(losses.back()));
    CHECK(losses.back() < 0.8 * losses.front());
    CHECK(test.accuracy > 0.6);
    require_no_validation_messages();
  }
}

}  // namespace vkgrad::test
