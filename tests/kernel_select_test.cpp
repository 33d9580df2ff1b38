// The variant resolver (lib/kernel_select.cpp): descriptor kinds read from the embedded SPIR-V, the
// build it picks for a kernel set and the tensors bound, and the per-stage descriptor limits.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "context_impl.hpp"
#include "harness.hpp"
#include "kernel_select.hpp"
#include "shader_registry.hpp"

namespace vkgrad::test {
namespace {

std::vector<uint32_t> words_of(const detail::ShaderBinary& bin) {
  std::vector<uint32_t> words(bin.size / 4);
  std::memcpy(words.data(), bin.data, bin.size);
  return words;
}

std::vector<detail::BindingKind> bindings_of(std::string_view name) {
  return detail::reflect_bindings(words_of(detail::shader_binary(name)));
}

// The instruction words of `text` as a SPIR-V literal string (NUL-terminated, padded to a word).
std::vector<uint32_t> literal(std::string_view text) {
  std::vector<uint32_t> out(text.size() / 4 + 1, 0);
  for (std::size_t i = 0; i < text.size(); ++i) out[i / 4] |= uint32_t(uint8_t(text[i])) << (8 * (i % 4));
  return out;
}

// A module header and the given instructions, each {opcode, operands...}.
std::vector<uint32_t> module(std::initializer_list<std::vector<uint32_t>> instructions) {
  std::vector<uint32_t> words{0x07230203u, 0x00010300u, 0, 100, 0};
  for (const auto& in : instructions) {
    words.push_back(uint32_t(in.size()) << 16 | in[0]);
    words.insert(words.end(), in.begin() + 1, in.end());
  }
  return words;
}

std::vector<uint32_t> extension(std::string_view name) {
  std::vector<uint32_t> in{10};
  const auto text = literal(name);
  in.insert(in.end(), text.begin(), text.end());
  return in;
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

TEST_CASE("every embedded module declares SignedZeroInfNanPreserve, and stripping removes exactly that",
          "[kernels][inf_nan]") {
  // OpCapability SignedZeroInfNanPreserve (2 words), OpExtension "SPV_KHR_float_controls" (1 + 6
  // words), OpExecutionMode %main SignedZeroInfNanPreserve 32 (4 words).
  const std::size_t declaration_words = 2 + 7 + 4;
  REQUIRE_FALSE(detail::shader_binaries().empty());
  for (const auto& s : detail::shader_binaries()) {
    INFO(s.name);
    const auto words = words_of(s);
    CHECK(detail::declares_inf_nan_preserve(words));
    const auto stripped = detail::strip_inf_nan_preserve(words);
    CHECK_FALSE(detail::declares_inf_nan_preserve(stripped));
    CHECK(stripped.size() == words.size() - declaration_words);
    CHECK(detail::strip_inf_nan_preserve(stripped) == stripped);  // nothing left to strip
    // The bindings are untouched.
    CHECK(detail::reflect_bindings(stripped) == detail::reflect_bindings(words));
  }
  const uint32_t not_spirv[] = {1, 2, 3, 4, 5, 6};
  CHECK_THROWS_AS(detail::strip_inf_nan_preserve(not_spirv), Error);
  auto truncated = module({{17, 4466}});
  truncated.back() = 0;
  truncated[5] = 3u << 16 | 17;  // claims 3 words, 2 remain
  CHECK_THROWS_AS(detail::strip_inf_nan_preserve(truncated), Error);
}

TEST_CASE("stripping keeps SPV_KHR_float_controls while another float-controls capability needs it",
          "[kernels][inf_nan]") {
  const auto ext = extension("SPV_KHR_float_controls");
  // Capability Shader, SignedZeroInfNanPreserve, DenormPreserve; the extension; the entry point's
  // modes SignedZeroInfNanPreserve 32 and DenormPreserve 32.
  const auto both = module({{17, 1}, {17, 4466}, {17, 4464}, ext, {16, 4, 4461, 32}, {16, 4, 4459, 32}});
  CHECK(detail::strip_inf_nan_preserve(both) == module({{17, 1}, {17, 4464}, ext, {16, 4, 4459, 32}}));
  const auto alone = module({{17, 1}, {17, 4466}, ext, extension("SPV_KHR_other"), {16, 4, 4461, 32}});
  CHECK(detail::strip_inf_nan_preserve(alone) == module({{17, 1}, extension("SPV_KHR_other")}));
  CHECK_FALSE(detail::declares_inf_nan_preserve(module({{17, 4466}, ext, {16, 4, 4461, 16}})));  // 16-bit only
}

TEST_CASE("stripped modules are valid SPIR-V (spirv-val)", "[kernels][inf_nan]") {
  // The build validates the modules as embedded; this validates what devices without the property
  // get. tests/CMakeLists.txt passes the spirv-val the build uses.
  const char* from_build = std::getenv("VKGRAD_SPIRV_VAL");
  const std::string spirv_val = from_build && *from_build ? from_build : "spirv-val";
  TempDir dir("stripped_spirv");
  for (const auto& s : detail::shader_binaries()) {
    INFO(s.name);
    const auto stripped = detail::strip_inf_nan_preserve(words_of(s));
    // The Vulkan environment the build validated against (VKGRAD_SPIRV_TARGET_ENV) is the oldest
    // that accepts the module's SPIR-V version.
    const uint32_t version = (stripped[1] >> 8) & 0xffffu;  // major << 8 | minor
    const std::string target_env = version <= 0x0103   ? "vulkan1.1"
                                   : version == 0x0104 ? "vulkan1.1spv1.4"
                                   : version == 0x0105 ? "vulkan1.2"
                                                       : "vulkan1.3";
    const auto file = dir.path / (std::string(s.name) + ".spv");
    {
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(stripped.data()), std::streamsize(stripped.size() * 4));
    }
    const std::string command = "'" + spirv_val + "' --target-env " + target_env + " '" + file.string() + "'";
    INFO(command);
    CHECK(std::system(command.c_str()) == 0);
  }
}

TEST_CASE("NaN/inf preservation is chosen from the device's property and the options", "[kernels][inf_nan]") {
  DeviceInfo dev;
  dev.name = "a Vulkan 1.2 device";
  dev.api_version = VK_API_VERSION_1_2;
  dev.signed_zero_inf_nan_preserve = true;
  const auto on = ContextOptions{}.set_preserve_inf_nan(true);
  auto choice = detail::resolve_kernels(on, dev);
  CHECK(choice.preserve_inf_nan);
  CHECK(choice.preserve_inf_nan_reason == "SignedZeroInfNanPreserve (device supports it)");
  // Turned off: the stripped modules, whatever the device.
  choice = detail::resolve_kernels(ContextOptions{}.set_preserve_inf_nan(false), dev);
  CHECK_FALSE(choice.preserve_inf_nan);
  CHECK(choice.preserve_inf_nan_reason == "not guaranteed: turned off by ContextOptions::preserve_inf_nan = false");
  // A Vulkan 1.1 loader: only with VK_KHR_shader_float_controls (which the context then enables).
  CHECK_FALSE(detail::resolve_kernels(on, dev, VK_API_VERSION_1_1).preserve_inf_nan);
  dev.float_controls_extension = true;
  CHECK(detail::resolve_kernels(on, dev, VK_API_VERSION_1_1).preserve_inf_nan);
  // Without the property: never, and vkgrad-info says why.
  dev.signed_zero_inf_nan_preserve = false;
  choice = detail::resolve_kernels(on, dev);
  CHECK_FALSE(choice.preserve_inf_nan);
  CHECK(choice.preserve_inf_nan_reason == "not guaranteed: device lacks shaderSignedZeroInfNanPreserveFloat32");

  // Which words a context's modules are created from.
  const auto& bin = detail::shader_binary("softmax_forward");
  KernelChoice keep;
  keep.preserve_inf_nan = true;
  CHECK(detail::module_words(keep, bin) == words_of(bin));
  CHECK(detail::module_words(KernelChoice{}, bin) == detail::strip_inf_nan_preserve(words_of(bin)));
}

TEST_CASE("a context runs the stripped modules on request, and the layer accepts both", "[kernels][inf_nan]") {
  const bool device_has_it = context().device().signed_zero_inf_nan_preserve;
  for (const bool preserve : {true, false}) {
    INFO("preserve_inf_nan " << preserve);
    ScopedContext scoped([&](ContextOptions& o) { o.set_preserve_inf_nan(preserve); });
    Context& ctx = context();
    CHECK(ctx.kernels().preserve_inf_nan == (preserve && device_has_it));
    CHECK(ctx.kernels().fast_math.empty() == (ctx.device().driver_id != VK_DRIVER_ID_MOLTENVK));
    // A NaN and an inf through a module that branches on isnan / isinf.
    Tensor x = Tensor::from(ctx, {1, 4}, {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f, 3.0f});
    Tensor y(ctx, {1, 4});
    y.fill(0.0f);
    CommandList forward(ctx);
    softmax_forward(forward, x, y);
    forward.run();
    for (float v : y.to_vector()) CHECK(std::isnan(v));
    // Every embedded module, as this context would create it, through the layer's checks.
    for (const auto& s : detail::shader_binaries()) {
      const auto words = detail::module_words(ctx.kernels(), s);
      (void)ctx.impl().device.createShaderModule(vk::ShaderModuleCreateInfo({}, words));
    }
  }
}

}  // namespace vkgrad::test
