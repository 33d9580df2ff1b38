// Activation sparsity statistics against the reference: exact counts (integers, so no tolerance),
// dead features, NaN (never zero) and −0 (zero).
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "reduction_layouts.hpp"
#include "reference/sparsity_ref.hpp"
#include "vkgrad/sparsity.hpp"

namespace vkgrad::test {
namespace {

// ReLU-like activations: about half exact zeros, some tiny values, some dead features, and the
// special values planted in live features.
std::vector<float> activations(std::size_t rows, std::size_t features, uint64_t seed) {
  auto y = uniform(rows * features, -1.0f, 1.0f, seed);
  for (auto& v : y) {
    if (v < 0)
      v = 0.0f;
    else if (v < 0.05f)
      v *= 1e-4f;  // |y| <= eps for the eps used below
  }
  for (std::size_t c = 0; c < features; c += 5) {
    for (std::size_t r = 0; r < rows; ++r) y[r * features + c] = (r % 2) ? -0.0f : 0.0f;  // dead
  }
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -0.0f,  -1e-40f,
                            std::numeric_limits<float>::infinity(),  -2e-5f, 1e-3f};
  for (std::size_t i = 0; i < std::size(specials) && i * 3 + 1 < rows * features; ++i) {
    const std::size_t idx = i * 3 + 1;
    if ((idx % features) % 5 != 0) y[idx] = specials[i];
  }
  return y;
}

void check_sparsity(std::size_t rows, std::size_t features, float eps, uint64_t seed) {
  Context& ctx = context();
  const auto y = activations(rows, features, seed);
  Tensor ty = Tensor::from(ctx, {rows, features}, y);
  ActivationSparsity stats(ctx, rows, features);
  // First measure all-ones activations (no zeros, nothing dead), so that any count or flag the
  // real measurement failed to overwrite would show.
  Tensor ones = Tensor::from(ctx, {rows, features}, std::vector<float>(rows * features, 1.0f));
  CommandList stale(ctx);
  stats.record(stale, ones, eps);
  stale.run();
  REQUIRE(stats.read().zero_count == 0);
  CommandList cmd(ctx);
  stats.record(cmd, ty, eps);
  cmd.run();
  require_no_validation_messages();
  const SparsityStats got = stats.read();
  const auto expected = ref::activation_sparsity(y, rows, features, eps);
  INFO("rows " << rows << ", features " << features << ", eps " << eps);
  CHECK(got.zero_count == expected.zeros);
  CHECK(got.near_zero_count == expected.near_zero);
  CHECK(got.zero_fraction == double(expected.zeros) / double(rows * features));
  CHECK(got.near_zero_fraction == double(expected.near_zero) / double(rows * features));
  CHECK(got.dead == expected.dead);
  std::size_t dead = 0;
  for (auto d : expected.dead) dead += d;
  CHECK(got.dead_count == dead);
}

}  // namespace

TEST_CASE("activation sparsity counts match the reference", "[sparsity]") {
  // Both first-pass layouts (lib/sparsity.cpp: a thread per feature, or per 4 features when the
  // feature count is a multiple of 4), on any device.
  for_each_reduction_layout([] {
    check_sparsity(1, 1, 1e-5f, 1);
    check_sparsity(7, 13, 1e-5f, 2);
    check_sparsity(3, 4, 1e-5f, 7);
    check_sparsity(129, 20, 1e-4f, 8);
    check_sparsity(255, 257, 1e-4f, 3);
    check_sparsity(64, 1031, 0.0f, 4);
    check_sparsity((1u << 20) + 3, 1, 1e-5f, 5);
    check_sparsity(1031, 1024, 1e-5f, 6);
  });
}

TEST_CASE("activation sparsity on a device that allows only 3 workgroups per dimension", "[sparsity]") {
  // More features than 3 workgroups have threads (or quads): each thread loops over several, in
  // at most 3 row chunks.
  for_each_reduction_layout([] {
    limit_workgroup_count(3);
    check_sparsity(64, 1031, 0.0f, 30);
    check_sparsity(129, 3076, 1e-4f, 31);
  });
}

TEST_CASE("activation sparsity: NaN is never zero, -0 is, and a feature with a NaN is not dead", "[sparsity]") {
  Context& ctx = context();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 3 rows × 4 features: feature 0 all ±0 (dead), feature 1 has a NaN, feature 2 tiny, feature 3 big.
  const std::vector<float> y{0.0f,  0.0f, 1e-7f,  5.0f,   //
                             -0.0f, nan,  -1e-7f, -5.0f,  //
                             0.0f,  0.0f, 0.0f,   5.0f};
  Tensor ty = Tensor::from(ctx, {3, 4}, y);
  ActivationSparsity stats(ctx, 3, 4);
  CommandList cmd(ctx);
  stats.record(cmd, ty, 1e-6f);
  cmd.run();
  require_no_validation_messages();
  const SparsityStats s = stats.read();
  CHECK(s.zero_count == 6);       // 3 in feature 0, 2 in feature 1, 1 in feature 2
  CHECK(s.near_zero_count == 8);  // plus the two ±1e-7
  CHECK(s.dead == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(s.dead_count == 1);
  CHECK(s.zero_fraction == 0.5);
  Tensor wrong(ctx, {4, 4});
  CHECK_THROWS_WITH(stats.record(cmd, wrong, 0.0f), Catch::Contains("[4, 4]"));
}

}  // namespace vkgrad::test
