// nonfinite_check (lib/nonfinite.hpp, shaders/nonfinite_check.comp) against its CPU reference:
// NaN (quiet, negative, signalling payloads) and ±inf at the first, last, a middle and a random
// position of tensors on both sides of the workgroup size, in two dispatches (more tensors than
// one dispatch binds), replayed over many steps, including the freeze at the first non-finite
// loss; finite extremes (FLT_MAX, denormals, -0) never count.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "harness.hpp"
#include "nonfinite.hpp"
#include "reference/nonfinite_ref.hpp"

namespace vkgrad::test {
namespace {

const float kSpecials[] = {
    std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
    std::bit_cast<float>(0x7f800001u),  // signalling NaN, smallest payload
    std::bit_cast<float>(0xffbfffffu),  // negative signalling NaN, largest payload
    std::numeric_limits<float>::infinity(),  -std::numeric_limits<float>::infinity(),
};
const float kFiniteExtremes[] = {std::numeric_limits<float>::max(),
                                 -std::numeric_limits<float>::max(),
                                 std::numeric_limits<float>::denorm_min(),
                                 std::numeric_limits<float>::min(),
                                 -0.0f,
                                 0.0f};

// Finite values with every extreme sprinkled in.
std::vector<float> finite_values(std::size_t n, std::mt19937_64& rng) {
  std::vector<float> v = uniform(n, -3.0f, 3.0f, rng());
  for (float e : kFiniteExtremes) v[rng() % n] = e;
  return v;
}

}  // namespace

TEST_CASE("nonfinite_check stamps the tensors holding NaN or inf and freezes at the first bad loss", "[nonfinite]") {
  Context& ctx = context();
  // 8 tensors: two dispatches (6 + 2); the last one is the loss.
  const std::vector<std::size_t> sizes{1, 7, 255, 256, 257, 4099, 70001, 1};
  const std::size_t loss = sizes.size() - 1;
  std::vector<Tensor> tensors;
  std::vector<const Tensor*> ptrs;
  for (std::size_t n : sizes) tensors.emplace_back(ctx, Shape{n});
  for (const auto& t : tensors) ptrs.push_back(&t);
  Tensor cursor(ctx, {1}, DType::i32);
  Tensor status = detail::make_nonfinite_status(ctx, sizes.size());
  CommandList cmd(ctx);
  detail::record_nonfinite_check(cmd, ptrs, loss, cursor, status);

  std::vector<int32_t> expected(detail::kNonFiniteHeader + sizes.size(), 0);
  std::mt19937_64 rng(11);
  const int32_t bad_loss_step = 9;  // cursor value whose loss is non-finite
  for (int32_t step = 0; step < 14; ++step) {
    std::vector<std::vector<float>> host;
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      std::vector<float> v = finite_values(sizes[s], rng);
      // Loss: finite except at bad_loss_step (and at one later step, which must change nothing).
      // Other tensors: a special value in about half the steps, at the first, last, a middle or a
      // random position.
      const bool make_bad = s == loss ? (step == bad_loss_step || step == 12) : rng() % 2 == 0;
      if (make_bad) {
        const std::size_t n = sizes[s];
        const std::size_t where[] = {0, n - 1, n / 2, std::size_t(rng() % n)};
        v[where[rng() % 4]] = kSpecials[rng() % std::size(kSpecials)];
      }
      tensors[s].upload(v);
      host.push_back(std::move(v));
    }
    cursor.upload<int32_t>(std::vector<int32_t>{step});
    cmd.run();
    ref::nonfinite_check(expected, host, loss, step);
    const auto got = status.to_vector<int32_t>();
    INFO("step (cursor) " << step);
    REQUIRE(got == expected);
  }
  const detail::NonFiniteStatus s = detail::read_nonfinite_status(status);
  CHECK(s.step == bad_loss_step + 1);
  CHECK(std::bit_cast<uint32_t>(s.loss) == uint32_t(expected[1]));
  CHECK(!std::isfinite(s.loss));
  // The first slot stamped at the frozen step is what the trainer reports.
  int64_t first = -1;
  for (std::size_t i = 0; i < sizes.size() && first < 0; ++i) {
    if (expected[detail::kNonFiniteHeader + i] == bad_loss_step + 1) first = int64_t(i);
  }
  CHECK(s.first_slot() == first);
  require_no_validation_messages();
}

TEST_CASE("nonfinite_check finds the last element of a large tensor, and only it", "[nonfinite]") {
  Context& ctx = context();
  const std::size_t n = (std::size_t(1) << 22) + 1001;
  std::vector<float> v(n, 1.0f);
  Tensor big = Tensor::from<float>(ctx, {n}, v);
  Tensor loss = Tensor::from<float>(ctx, {1}, std::vector<float>{std::numeric_limits<float>::infinity()});
  Tensor cursor = Tensor::from<int32_t>(ctx, {1}, std::vector<int32_t>{4});
  Tensor status = detail::make_nonfinite_status(ctx, 2);
  const std::vector<const Tensor*> both{&big, &loss};
  {
    CommandList cmd(ctx);
    detail::record_nonfinite_check(cmd, both, 1, cursor, status);
    cmd.run();
  }
  auto s = detail::read_nonfinite_status(status);
  CHECK(s.step == 5);
  CHECK(s.loss == std::numeric_limits<float>::infinity());
  CHECK(s.stamps == std::vector<int32_t>{0, 5});  // the big tensor is finite
  CHECK(s.first_slot() == 1);
  v[n - 1] = std::numeric_limits<float>::quiet_NaN();
  big.upload(v);
  status.fill(0.0f);
  {
    CommandList cmd(ctx);
    detail::record_nonfinite_check(cmd, both, 1, cursor, status);
    cmd.run();
  }
  s = detail::read_nonfinite_status(status);
  CHECK(s.stamps == std::vector<int32_t>{5, 5});
  CHECK(s.first_slot() == 0);
  require_no_validation_messages();
}

TEST_CASE("nonfinite_check refuses wrong arguments", "[nonfinite]") {
  Context& ctx = context();
  Tensor x(ctx, {4}), loss2(ctx, {2}), cursor(ctx, {1}, DType::i32), f32_cursor(ctx, {1}), ints(ctx, {4}, DType::i32);
  Tensor status = detail::make_nonfinite_status(ctx, 2), small = detail::make_nonfinite_status(ctx, 1);
  CommandList cmd(ctx);
  const std::vector<const Tensor*> with_loss2{&x, &loss2}, with_ints{&ints}, just_x{&x}, none;
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, with_loss2, 1, cursor, status), InvalidArgument);
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, with_ints, 1, cursor, status), InvalidArgument);
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, with_loss2, 2, cursor, small), InvalidArgument);
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, just_x, 1, f32_cursor, status), InvalidArgument);
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, just_x, 2, cursor, status), InvalidArgument);
  CHECK_THROWS_AS(detail::record_nonfinite_check(cmd, none, 0, cursor, status), InvalidArgument);
}

}  // namespace vkgrad::test
