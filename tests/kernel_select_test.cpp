// The variant resolver (lib/kernel_select.cpp): descriptor kinds read from the embedded SPIR-V, the
// build it picks for a kernel set and the tensors bound, and the per-stage descriptor limits.
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "context_impl.hpp"
#include "harness.hpp"
#include "kernel_select.hpp"
#include "shader_registry.hpp"

namespace vkgrad::test {
namespace {

std::vector<detail::BindingKind> bindings_of(std::string_view name) {
  const auto& bin = detail::shader_binary(name);
  std::vector<uint32_t> words(bin.size / 4);
  std::memcpy(words.data(), bin.data, bin.size);
  return detail::reflect_bindings(words);
}

}  // namespace

TEST_CASE("descriptor kinds are read from the modules themselves", "[kernels]") {
  using K = detail::BindingKind;
  // activation_forward: x in, y out; its texel build reads x through a float texel buffer.
  CHECK(bindings_of("activation_forward") == std::vector<K>{K::storage, K::storage});
  CHECK(bindings_of("activation_forward_texel") == std::vector<K>{K::texel_float, K::storage});
  // cast's texel build reads the source's raw bits (usamplerBuffer).
  CHECK(bindings_of("cast_texel") == std::vector<K>{K::texel_uint, K::storage});
  // Every embedded module can be read, and only texel builds declare texel buffers (a texel build
  // with no input, such as init_random_texel, only writes 64-bit words).
  for (const auto& s : detail::shader_binaries()) {
    INFO(s.name);
    std::vector<K> kinds;
    REQUIRE_NOTHROW(kinds = bindings_of(s.name));
    CHECK_FALSE(kinds.empty());
    const bool texel = std::find(kinds.begin(), kinds.end(), K::texel_float) != kinds.end() ||
                       std::find(kinds.begin(), kinds.end(), K::texel_uint) != kinds.end();
    if (texel) CHECK(s.name.find("_texel") != std::string_view::npos);
  }
  const uint32_t not_spirv[] = {1, 2, 3, 4, 5, 6};
  CHECK_THROWS_AS(detail::reflect_bindings(not_spirv), Error);
}

TEST_CASE("the resolver picks the build from the kernel set and the tensors", "[kernels]") {
  for (const KernelSet set : {KernelSet::cpu, KernelSet::gpu}) {
    Context ctx(ContextOptions{}.set_kernels(set));
    INFO("kernel set " << to_string(set));
    Tensor x(ctx, {37}), y(ctx, {37});
    const auto& impl = *ctx.shared_impl();
    const detail::Kernel forward{"activation_forward", {64, 0, 0}, 2, 16};
    const auto picked =
        detail::resolve_kernel(impl, forward, {{&x, detail::Access::read}, {&y, detail::Access::write}});
    if (ctx.texel_loads()) {
      CHECK(picked.shader == "activation_forward_texel");
      CHECK(picked.texel_bindings == 0b01);
      CHECK(picked.raw_texel_bindings == 0);
      // An input that is also written cannot be a texel buffer: the storage build runs.
      const auto in_place =
          detail::resolve_kernel(impl, forward, {{&x, detail::Access::read_write}, {&y, detail::Access::write}});
      CHECK(in_place.shader == "activation_forward");
      CHECK(in_place.texel_bindings == 0);
    } else {
      CHECK(picked.shader == "activation_forward");
      CHECK(picked.texel_bindings == 0);
    }
    // The storage-buffer GEMM with an f16 input: its _f16 build, with the mask of f16 bindings.
    Tensor a(ctx, {4, 4}, DType::f16), b(ctx, {4, 4}), c(ctx, {4, 4});
    const detail::Kernel tiled{"gemm", {16, 4, 4, 4, 0, 0}, 3, 20};
    const auto f16 = detail::resolve_kernel(
        impl, tiled, {{&a, detail::Access::read}, {&b, detail::Access::read}, {&c, detail::Access::write}});
    CHECK(f16.shader == "gemm_f16");
    REQUIRE(f16.specialization.size() > 14);
    CHECK(f16.specialization[14] == 0b01);
    // A reducing shader runs its subgroup build where the context uses subgroup reductions.
    const detail::Kernel sum{"reduce_rows", {64, 0}, 2, 8};
    const auto rows = detail::resolve_kernel(impl, sum, {{&x, detail::Access::read}, {&y, detail::Access::write}});
    CHECK(rows.shader == (ctx.subgroup_reductions() ? "reduce_rows_subgroup" : "reduce_rows"));
  }
}

TEST_CASE("a pipeline binding more descriptors than the device allows is refused by name", "[kernels]") {
  DeviceInfo dev;
  dev.name = "a device at Vulkan's minimums";
  dev.max_storage_buffers_per_stage = 4;  // the minimum Vulkan guarantees
  dev.max_texel_buffers_per_stage = 16;
  detail::Kernel adam{"adam_update", {256, 0}, 8, 40};
  CHECK_THROWS_AS(detail::check_descriptor_limits(dev, adam, "adam_update"), UnsupportedError);
  CHECK_THROWS_WITH(detail::check_descriptor_limits(dev, adam, "adam_update"),
                    Catch::Matchers::Contains("adam_update binds 8 storage buffers") &&
                        Catch::Matchers::Contains("maxPerStageDescriptorStorageBuffers") &&
                        Catch::Matchers::Contains("allows 4"));
  adam.texel_bindings = 0b1111;  // four of them as texel buffers: 4 storage buffers left
  CHECK_NOTHROW(detail::check_descriptor_limits(dev, adam, "adam_update"));
  dev.max_texel_buffers_per_stage = 2;
  CHECK_THROWS_WITH(detail::check_descriptor_limits(dev, adam, "adam_update"),
                    Catch::Matchers::Contains("maxPerStageDescriptorSampledImages"));
  // The test device runs every op, so it allows what the largest binding sets need.
  CHECK(context().device().max_storage_buffers_per_stage >= 8);
}

}  // namespace vkgrad::test
