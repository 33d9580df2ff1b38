// PReLU with a learnable slope: forward, dx and the per-channel slope gradient against the double
// reference, for a shared slope and one slope per channel.
#include <catch2/catch.hpp>
#include <sstream>

#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/activation_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr uint32_t kPrelu = static_cast<uint32_t>(Activation::prelu);

void check_prelu(Shape shape, std::size_t channels, uint64_t seed) {
  Context& ctx = context();
  const std::size_t n = shape.numel();
  auto x = uniform(n, -6.0f, 6.0f, seed);
  const float specials[] = {
      0.0f,  -0.0f, 1e4f, -1e4f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      1e-40f};
  for (std::size_t i = 0; i < std::size(specials) && i * 11 < n; ++i) x[i * 11] = specials[i];
  const auto w = uniform(channels, -0.5f, 1.0f, seed + 1);
  const auto dy = uniform(n, -2.0f, 2.0f, seed + 2);
  const std::size_t inner = channels == 1 ? 1 : n / (shape[0] * channels);

  Tensor tx = Tensor::from(ctx, shape, x), tw = Tensor::from(ctx, {channels}, w), tdy = Tensor::from(ctx, shape, dy);
  Tensor ty(ctx, shape), tdx(ctx, shape), tdw(ctx, {channels});
  ty.fill(poison);
  tdx.fill(poison);
  tdw.fill(poison);
  CommandList cmd(ctx);
  prelu_forward(cmd, tx, tw, ty);
  prelu_backward(cmd, tx, tw, tdy, tdx, tdw);
  cmd.run();
  require_no_validation_messages();

  std::vector<double> y_ref(n), dx_ref(n), dw_ref(channels);
  for (std::size_t i = 0; i < n; ++i) {
    const double slope = w[(i / inner) % channels];
    y_ref[i] = ref::activation_forward(kPrelu, x[i], slope, 0);
    dx_ref[i] = ref::activation_grad(kPrelu, x[i], slope, 0) * double(dy[i]);
  }
  ref::prelu_weight_grad(x.data(), dy.data(), n, channels, inner, dw_ref.data());
  std::ostringstream where;
  where << "shape " << shape.to_string() << ", " << channels << " slopes";
  INFO(where.str());
  const auto y_m = compare(ty.to_vector(), y_ref, 1e-5, 1e-6);
  CHECK(y_m.count == 0);
  const auto dx_m = compare(tdx.to_vector(), dx_ref, 1e-5, 1e-6);
  CHECK(dx_m.count == 0);
  // dweight is a sum over up to ~1M products in float32: its error grows with the sum of the
  // magnitudes of the terms, not with |sum|, so the bound is relative to Σ|x·dy| (float32
  // accumulation of n terms in a tree: ~log2(n)·2^-24 relative to that sum; 1e-5 is ample).
  std::vector<double> magnitude(channels, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!(x[i] > 0) && std::isfinite(x[i])) magnitude[(i / inner) % channels] += std::fabs(double(x[i]) * dy[i]);
  }
  const auto dw = tdw.to_vector();
  for (std::size_t c = 0; c < channels; ++c) {
    INFO("channel " << c << ": got " << dw[c] << " expected " << dw_ref[c]);
    CHECK(close(dw[c], dw_ref[c], 0.0, 1e-6 + 1e-5 * magnitude[c]));
  }
}

}  // namespace

TEST_CASE("prelu with one shared slope", "[activation][prelu]") {
  check_prelu({1}, 1, 1);
  check_prelu({257}, 1, 2);
  check_prelu({64, 37}, 1, 3);
  check_prelu({(1u << 20) + 3}, 1, 4);
}

TEST_CASE("prelu with one slope per channel", "[activation][prelu]") {
  // Both slope-gradient layouts (lib/activation.cpp: a workgroup per channel, or an invocation per 4
  // channels, vec4 loads when inner is 1 and the channels a multiple of 4), on any device.
  for_each_reduction_layout([] {
    check_prelu({7, 3}, 3, 5);
    check_prelu({128, 255}, 255, 6);
    check_prelu({4, 17, 5, 7}, 17, 7);
    check_prelu({4, 13, 5, 7}, 13, 7);
    check_prelu({128, 512}, 512, 9);
    check_prelu({1031, 1024}, 1024, 8);
  });
}

TEST_CASE("prelu with more channels than 65535 workgroups", "[activation][prelu]") {
  // The workgroup-per-channel slope gradient gets a grid capped at the 65,535 workgroups per
  // dimension every device allows, so its workgroups loop over the other 4,465 channels.
  for_each_reduction_layout([] { check_prelu({2, 70000}, 70000, 20); });
}

TEST_CASE("prelu on a device that allows only 3 workgroups per dimension", "[activation][prelu]") {
  // Every kernel loops over the channels (elements) its grid of 3 workgroups does not cover.
  for_each_reduction_layout([] {
    limit_workgroup_count(3);
    check_prelu({7, 3}, 3, 21);
    check_prelu({128, 255}, 255, 22);
    check_prelu({4, 17, 5, 7}, 17, 23);
    check_prelu({16, 1031}, 1031, 24);  // more than 3 workgroups of 64 invocations per 4 channels
  });
}

TEST_CASE("prelu refuses a slope count that matches no channel dimension", "[activation][prelu]") {
  Context& ctx = context();
  Tensor x(ctx, {8, 5}), w(ctx, {4}), y(ctx, {8, 5});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(prelu_forward(cmd, x, w, y), Catch::Contains("4 slopes") && Catch::Contains("[8, 5]"));
}

}  // namespace vkgrad::test
