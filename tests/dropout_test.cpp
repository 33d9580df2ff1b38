// Dropout: the C++ Philox4x32-10 against Random123's known answers, the GPU mask against the C++ one
// bit for bit, statistics of the mask, reproducibility, the special cases p = 0, p = 1 and eval, NaN
// inputs, and the backward pass's mask.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "harness.hpp"
#include "vkgrad/dropout.hpp"
#include "vkgrad/optim.hpp"
#include "reference/dropout_ref.hpp"

namespace vkgrad::test {
namespace {

// Runs dropout_forward on x and returns y.
std::vector<float> run_forward(const std::vector<float>& x, const DropoutOptions& o) {
  Context& ctx = context();
  Tensor tx = Tensor::from(ctx, {x.size()}, x), ty(ctx, {x.size()});
  ty.fill(poison);
  CommandList cmd(ctx);
  dropout_forward(cmd, tx, ty, o);
  cmd.run();
  require_no_validation_messages();
  return ty.to_vector();
}

// The mask the GPU applied, read back through x = 1 (kept elements become 1 / (1 - p) != 0).
std::vector<uint8_t> gpu_mask(std::size_t n, const DropoutOptions& o) {
  const auto y = run_forward(std::vector<float>(n, 1.0f), o);
  std::vector<uint8_t> keep(n);
  for (std::size_t i = 0; i < n; ++i) keep[i] = y[i] != 0.0f;
  return keep;
}

std::size_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return i;
  }
  return a.size();
}

}  // namespace

TEST_CASE("philox4x32-10 reference matches Random123's known-answer vectors", "[dropout][reference]") {
  // Random123 kat_vectors, "philox4x32 10" rows: counter (4 words), key (2 words) -> output (4 words).
  using Words = std::array<uint32_t, 4>;
  CHECK(ref::philox4x32_10({0, 0, 0, 0}, {0, 0}) == Words{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(ref::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        Words{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(ref::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        Words{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("dropout mask equals the reference bit for bit, for any local size", "[dropout]") {
  const uint64_t seed = 0x0123456789abcdefull;
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(257), std::size_t(100003)}) {
    for (float p : {0.1f, 0.5f, 0.9f}) {
      const auto expected = ref::dropout_mask(n, seed, 42, dropout_threshold(p));
      for (uint32_t local : {0u, 1u, 64u, 97u}) {
        const auto o = DropoutOptions{}.set_p(p).set_seed(seed).set_step(42).set_local_size(local);
        const auto got = gpu_mask(n, o);
        INFO("n " << n << ", p " << p << ", local size " << local << ": first difference at "
                  << first_difference(got, expected));
        CHECK(got == expected);
      }
    }
  }
}

TEST_CASE("dropout with an element offset draws that slice of the larger tensor's mask", "[dropout]") {
  // The reference's offset path is itself checked against a slice of the plain mask, then the GPU
  // against it at offsets of every residue mod 4 (the shader's one-block and two-block paths),
  // with the step pushed and read from a device counter.
  const uint64_t seed = 0xfeedull;
  const float p = 0.5f;
  const auto whole = ref::dropout_mask(20000, seed, 9, dropout_threshold(p));
  for (std::size_t offset : {std::size_t(1), std::size_t(3), std::size_t(4), std::size_t(1283)}) {
    const auto slice = ref::dropout_mask(257, seed, 9, dropout_threshold(p), offset);
    CHECK(std::equal(slice.begin(), slice.end(), whole.begin() + std::ptrdiff_t(offset)));
  }
  Context& ctx = context();
  Tensor counter = make_step_counter(ctx);
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(257), std::size_t(100003)}) {
    for (std::size_t offset : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(5),
                               std::size_t(784) * 61, std::size_t(4294967296ull - n)}) {
      const auto expected = ref::dropout_mask(n, seed, 9, dropout_threshold(p), offset);
      for (uint32_t local : {0u, 97u}) {
        const auto o =
            DropoutOptions{}.set_p(p).set_seed(seed).set_step(9).set_element_offset(offset).set_local_size(local);
        INFO("n " << n << ", offset " << offset << ", local size " << local);
        CHECK(gpu_mask(n, o) == expected);
        CHECK(gpu_mask(n, DropoutOptions(o).set_step_counter(&counter)) == expected);
      }
    }
  }
  Tensor x(ctx, {8}), y(ctx, {8});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(dropout_forward(cmd, x, y, DropoutOptions{}.set_element_offset((1ull << 32) - 7)),
                    Catch::Contains("element_offset") && Catch::Contains("2^32"));
}

TEST_CASE("dropout keeps 1 - p of 1M elements and preserves the mean", "[dropout]") {
  const std::size_t n = (1u << 20) + 5;
  const auto x = uniform(n, 0.5f, 1.5f, 11);
  for (float p : {0.1f, 0.5f, 0.9f}) {
    const auto y = run_forward(x, DropoutOptions{}.set_p(p).set_seed(7).set_step(3));
    const auto keep = ref::dropout_mask(n, 7, 3, dropout_threshold(p));
    std::vector<double> expected(n);
    ref::dropout_forward(x.data(), keep.data(), n, p, expected.data());
    const auto m = compare(y, expected, 1e-5, 1e-6);
    CHECK(m.count == 0);

    // Kept fraction: binomial, sd = sqrt(p (1 - p) / n).
    std::size_t kept = 0;
    double sum_x = 0, sum_y = 0, sum_x2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      kept += y[i] != 0.0f;
      sum_x += x[i];
      sum_y += y[i];
      sum_x2 += double(x[i]) * x[i];
    }
    const double keep_fraction = double(kept) / n;
    INFO("p " << p << ": kept fraction " << keep_fraction);
    CHECK(std::fabs(keep_fraction - (1 - p)) <= 4 * std::sqrt(p * (1 - p) / n));
    // Mean: E[y] = E[x]; given x, Var(y_i) = x_i² p / (1 - p), so sd of mean(y) - mean(x) is
    // sqrt(Σx² · p / (1 - p)) / n.
    const double sd = std::sqrt(sum_x2 * p / (1 - p)) / n;
    INFO("mean x " << sum_x / n << ", mean y " << sum_y / n << ", sd " << sd);
    CHECK(std::fabs(sum_y / n - sum_x / n) <= 4 * sd);
  }
}

TEST_CASE("dropout masks repeat for the same seed and step and change with either", "[dropout]") {
  const std::size_t n = 4099;
  const auto o = DropoutOptions{}.set_p(0.5f).set_seed(99).set_step(5);
  const auto a = gpu_mask(n, o);
  CHECK(gpu_mask(n, o) == a);
  const auto next_step = gpu_mask(n, DropoutOptions(o).set_step(6));
  const auto other_seed = gpu_mask(n, DropoutOptions(o).set_seed(99ull | (1ull << 40)));  // high word only
  // Independent masks with p = 0.5 agree on about half the elements (sd 32 of 4099); identical
  // masks would agree on all.
  std::size_t same_step = 0, same_seed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    same_step += a[i] == next_step[i];
    same_seed += a[i] == other_seed[i];
  }
  CHECK(same_step < n * 6 / 10);
  CHECK(same_seed < n * 6 / 10);
}

TEST_CASE("dropout with p = 0, p = 1 and in eval mode", "[dropout]") {
  const std::size_t n = 1031;
  auto x = uniform(n, -3.0f, 3.0f, 5);
  const float inf = std::numeric_limits<float>::infinity();
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[1] = inf;
  x[2] = -0.0f;
  x[3] = 1e-40f;
  const auto bits_equal = [](const std::vector<float>& a, const std::vector<float>& b) {
    return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  CHECK(bits_equal(run_forward(x, DropoutOptions{}.set_p(0.0f)), x));
  CHECK(bits_equal(run_forward(x, DropoutOptions{}.set_p(0.7f).set_training(false)), x));
  // p = 1: x · 0, as PyTorch (input * zeros): NaN and inf give NaN, everything else a zero.
  const auto zeros = run_forward(x, DropoutOptions{}.set_p(1.0f));
  CHECK(std::isnan(zeros[0]));
  CHECK(std::isnan(zeros[1]));
  for (std::size_t i = 2; i < n; ++i) {
    INFO("element " << i << " = " << zeros[i]);
    CHECK(zeros[i] == 0.0f);
  }
}

TEST_CASE("dropout propagates NaN whether kept or dropped, like PyTorch", "[dropout]") {
  // PyTorch multiplies by the scaled mask, so a dropped NaN stays NaN (NaN · 0), and so does a
  // dropped inf (inf · 0).
  const std::size_t n = 64;
  std::vector<float> x(n, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t i = 0; i < n; i += 2) x[i] = std::numeric_limits<float>::infinity();
  const auto o = DropoutOptions{}.set_p(0.5f).set_seed(1);
  const auto keep = ref::dropout_mask(n, 1, 0, dropout_threshold(0.5f));
  const auto y = run_forward(x, o);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < n; ++i) {
    dropped += !keep[i];
    INFO("element " << i << " kept " << int(keep[i]) << " y " << y[i]);
    if (keep[i] && i % 2 == 0)
      CHECK(y[i] == std::numeric_limits<float>::infinity());
    else
      CHECK(std::isnan(y[i]));
  }
  CHECK(dropped > 0);  // the case under test happened
}

TEST_CASE("dropout backward applies the forward's mask", "[dropout]") {
  Context& ctx = context();
  const std::size_t n = 70001;
  const auto x = uniform(n, -2.0f, 2.0f, 21), dy = uniform(n, -1.0f, 1.0f, 22);
  Tensor tx = Tensor::from(ctx, {n}, x), tdy = Tensor::from(ctx, {n}, dy), ty(ctx, {n}), tdx(ctx, {n});
  Tensor tdy_inplace = Tensor::from(ctx, {n}, dy);
  ty.fill(poison);
  tdx.fill(poison);
  const auto o = DropoutOptions{}.set_p(0.3f).set_seed(0xdeadbeefcafeull).set_step(17);
  CommandList cmd(ctx);
  dropout_forward(cmd, tx, ty, o);
  dropout_backward(cmd, tdy, tdx, o);
  dropout_backward(cmd, tdy_inplace, tdy_inplace, o);
  cmd.run();
  require_no_validation_messages();
  const auto y = ty.to_vector(), dx = tdx.to_vector(), dx_inplace = tdy_inplace.to_vector();
  const auto keep = ref::dropout_mask(n, o.seed, o.step, dropout_threshold(o.p));
  std::vector<double> dx_ref(n);
  ref::dropout_forward(dy.data(), keep.data(), n, o.p, dx_ref.data());
  CHECK(compare(dx, dx_ref, 1e-5, 1e-6).count == 0);
  CHECK(dx_inplace == dx);
  std::size_t mismatched = 0;
  for (std::size_t i = 0; i < n; ++i) mismatched += (y[i] != 0.0f) != (dx[i] != 0.0f);
  CHECK(mismatched == 0);
}

TEST_CASE("dropout in place: eval leaves the tensor alone, training applies the mask", "[dropout]") {
  Context& ctx = context();
  const std::size_t n = 1001;
  const auto x = uniform(n, -2.0f, 2.0f, 31);
  Tensor t = Tensor::from(ctx, {7, 11, 13}, x);
  CommandList cmd(ctx);
  dropout_forward(cmd, t, t, DropoutOptions{}.set_training(false));
  dropout_forward(cmd, t, t, DropoutOptions{}.set_p(0.0f));
  dropout_forward(cmd, t, t, DropoutOptions{}.set_p(0.25f).set_seed(5).set_step(1));
  cmd.run();
  require_no_validation_messages();
  const auto keep = ref::dropout_mask(n, 5, 1, dropout_threshold(0.25f));
  std::vector<double> expected(n);
  ref::dropout_forward(x.data(), keep.data(), n, 0.25, expected.data());
  CHECK(compare(t.to_vector(), expected, 1e-5, 1e-6).count == 0);
}

TEST_CASE("dropout refuses p outside [0, 1]", "[dropout]") {
  Context& ctx = context();
  Tensor x(ctx, {8}), y(ctx, {8});
  CommandList cmd(ctx);
  CHECK_THROWS_AS(dropout_forward(cmd, x, y, DropoutOptions{}.set_p(1.5f)), InvalidArgument);
  CHECK_THROWS_AS(dropout_forward(cmd, x, y, DropoutOptions{}.set_p(-0.1f)), InvalidArgument);
  CHECK_THROWS_AS(dropout_forward(cmd, x, y, DropoutOptions{}.set_p(std::nanf(""))), InvalidArgument);
  Tensor z(ctx, {9});
  CHECK_THROWS_WITH(dropout_backward(cmd, x, z, DropoutOptions{}), Catch::Contains("[8]") && Catch::Contains("[9]"));
}

TEST_CASE("dropout reads its step from a device counter: a replayed list draws a new mask each step", "[dropout]") {
  Context& ctx = context();
  const std::size_t n = 4099;
  const uint64_t seed = 0x5eedull;
  const float p = 0.4f;
  Tensor counter = make_step_counter(ctx);
  Tensor x = Tensor::from(ctx, {n}, std::vector<float>(n, 1.0f)), y(ctx, {n});
  // Recorded once: dropout with the counter (offset 3), then counter += 1.
  CommandList cmd(ctx);
  dropout_forward(cmd, x, y, DropoutOptions{}.set_p(p).set_seed(seed).set_step(3).set_step_counter(&counter));
  optimizer_advance_step(cmd, counter);
  for (uint32_t replay = 0; replay < 3; ++replay) {
    y.fill(poison);
    cmd.run();
    require_no_validation_messages();
    const auto out = y.to_vector();
    const auto keep = ref::dropout_mask(n, seed, 3 + replay, dropout_threshold(p));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) wrong += (out[i] != 0.0f) != (keep[i] != 0);
    INFO("replay " << replay);
    CHECK(wrong == 0);
  }
  CHECK(counter.to_vector<int32_t>()[0] == 3);
  Tensor bad(ctx, {2}, DType::i32);
  CommandList fresh(ctx);
  CHECK_THROWS_WITH(dropout_forward(fresh, x, y, DropoutOptions{}.set_step_counter(&bad)),
                    Catch::Contains("step_counter"));
}

}  // namespace vkgrad::test
