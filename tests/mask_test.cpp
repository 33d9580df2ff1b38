// mask_apply against the reference: awkward sizes, extreme target values, 1 to 3 targets, misuse.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>

#include "harness.hpp"
#include "reference/mask_ref.hpp"

// A namespace of its own: the unity build compiles this file with other tests that define the same
// helper names (inf, nan).
namespace vkgrad::test::mask_op {
namespace {

const float inf = std::numeric_limits<float>::infinity();
const float nan = std::numeric_limits<float>::quiet_NaN();

// A 0/1 mask of n values, about `kept` of them 1, with ±0 both used for pruned elements.
std::vector<float> random_mask(std::size_t n, double kept, uint64_t seed) {
  const auto u = uniform(n, 0.0f, 1.0f, seed);
  std::vector<float> mask(n);
  for (std::size_t i = 0; i < n; ++i) mask[i] = u[i] < kept ? 1.0f : (i % 3 == 0 ? -0.0f : 0.0f);
  return mask;
}

// Values with every extreme (±1e4, ±inf, NaN, denormals, ±0) spread over both masked and kept
// positions.
std::vector<float> target_values(std::size_t n, uint64_t seed) {
  auto v = uniform(n, -3.0f, 3.0f, seed);
  const float specials[] = {0.0f, -0.0f, 1e4f, -1e4f, inf, -inf, nan, 1e-40f, -1e-40f, 1e-45f};
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 5 == 1 || n < 20) v[i] = specials[(i + seed) % std::size(specials)];
  }
  return v;
}

// Runs mask_apply over `count` targets of n elements and requires every target to be the
// reference bit for bit: pruned elements +0 (sign bit clear), kept ones their input bits.
void check_mask_apply(std::size_t n, std::size_t count, uint64_t seed) {
  Context& ctx = context();
  const auto mask = random_mask(n, 0.6, seed);
  Tensor tmask = Tensor::from(ctx, {n}, mask);
  std::vector<std::vector<float>> inputs;
  std::vector<Tensor> targets;
  for (std::size_t t = 0; t < count; ++t) {
    inputs.push_back(target_values(n, seed + 10 * (t + 1)));
    targets.push_back(Tensor::from(ctx, {n}, inputs.back()));
  }
  std::vector<Tensor*> pointers;
  for (auto& t : targets) pointers.push_back(&t);
  CommandList cmd(ctx);
  mask_apply(cmd, tmask, pointers);
  cmd.run();
  require_no_validation_messages();
  const std::vector<double> mask_d(mask.begin(), mask.end());
  for (std::size_t t = 0; t < count; ++t) {
    std::vector<double> expected(inputs[t].begin(), inputs[t].end());
    ref::mask_apply(mask_d, expected);
    const auto got = targets[t].to_vector();
    // A select: exact (rtol = atol = 0), denormals kept; the sign and payload bits checked below.
    const auto m = compare(got, expected, 0.0, 0.0);
    INFO("n " << n << ", targets " << count << ", target " << t << ": " << m.count << " mismatches, worst ["
              << m.worst_index << "] got " << m.got << " expected " << m.expected);
    CHECK(m.count == 0);
    std::size_t wrong_bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const uint32_t want = mask[i] == 0.0f ? 0u : std::bit_cast<uint32_t>(inputs[t][i]);
      if (std::bit_cast<uint32_t>(got[i]) != want && !(std::isnan(got[i]) && std::isnan(inputs[t][i]))) ++wrong_bits;
    }
    CHECK(wrong_bits == 0);
  }
}

}  // namespace

TEST_CASE("mask reference zeroes pruned elements whatever they hold and keeps the rest", "[optim][mask][reference]") {
  std::vector<double> target{1.5, std::nan(""), -HUGE_VAL, 2.0, std::nan(""), -0.0};
  ref::mask_apply({0.0, 0.0, -0.0, 1.0, 1.0, 1.0}, target);
  CHECK(target[0] == 0.0);
  CHECK(target[1] == 0.0);
  CHECK(target[2] == 0.0);
  CHECK_FALSE(std::signbit(target[2]));
  CHECK(target[3] == 2.0);
  CHECK(std::isnan(target[4]));
  CHECK(std::signbit(target[5]));
}

TEST_CASE("mask_apply matches the reference bit for bit at awkward sizes and extreme values", "[optim][mask]") {
  uint64_t seed = 1;
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(255), std::size_t(257), std::size_t(1021),
                        std::size_t((1u << 20) + 7)}) {
    for (std::size_t count = 1; count <= kMaskApplyMaxTargets; ++count) check_mask_apply(n, count, seed++);
  }
}

TEST_CASE("mask_apply covers every element with a capped workgroup count", "[optim][mask]") {
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  check_mask_apply(100003, 3, 77);
  check_mask_apply(257, 1, 78);
}

TEST_CASE("mask_apply replays read the mask's current values", "[optim][mask]") {
  Context& ctx = context();
  Tensor mask = Tensor::from(ctx, {5}, std::vector<float>{1, 0, 1, 1, 1});
  Tensor w(ctx, {5});
  CommandList cmd(ctx);
  mask_apply(cmd, mask, {&w});
  w.upload(std::vector<float>{1, 2, 3, 4, 5});
  cmd.run();
  CHECK(w.to_vector() == std::vector<float>{1, 0, 3, 4, 5});
  mask.upload(std::vector<float>{1, 1, 1, 0, 1});
  w.upload(std::vector<float>{1, 2, 3, 4, 5});
  cmd.run();
  CHECK(w.to_vector() == std::vector<float>{1, 2, 3, 0, 5});
  require_no_validation_messages();
}

TEST_CASE("mask_apply refuses misuse", "[optim][mask][bad-input]") {
  Context& ctx = context();
  Tensor mask(ctx, {2, 3}), a(ctx, {6}), b(ctx, {3, 2}), c(ctx, {6}), d(ctx, {6}), short_t(ctx, {5});
  Tensor ints(ctx, {6}, DType::i32);
  CommandList cmd(ctx);
  require_refused([&] { mask_apply(cmd, mask, {&short_t}); }, {"mask_apply", "targets[0]", "[5]"});
  require_refused([&] { mask_apply(cmd, mask, {&a, &ints}); }, {"mask_apply", "targets[1]", "f32"});
  require_refused([&] { mask_apply(cmd, ints, {&a}); }, {"mask_apply", "mask", "f32"});
  require_refused([&] { mask_apply(cmd, mask, {&a, &b, &c, &d}); }, {"mask_apply", "1 to 3", "got 4"});
  require_refused([&] { mask_apply(cmd, mask, std::span<Tensor* const>()); }, {"mask_apply", "got 0"});
  require_refused([&] { mask_apply(cmd, mask, {&a, nullptr}); }, {"mask_apply", "targets[1]", "null"});
  require_refused([&] { mask_apply(cmd, mask, {&a, &a}); }, {"mask_apply", "targets[1]", "targets[0]"});
  require_refused([&] { mask_apply(cmd, mask, {&mask}); }, {"mask_apply", "targets[0]", "mask"});
  CHECK(cmd.dispatch_count() == 0);
  // Any shapes with the mask's element count are accepted.
  mask_apply(cmd, mask, {&a, &b});
  CHECK(cmd.dispatch_count() == 1);
}

}  // namespace vkgrad::test::mask_op
