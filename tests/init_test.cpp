// Initializers: the Philox generator against known-answer vectors, uniform samples bit-exact
// against the reference, reproducibility from the seed, and the sample statistics of every
// distribution within 4σ of the theory for 1M elements.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <functional>

#include "harness.hpp"
#include "reference/init_ref.hpp"
#include "vkgrad/init.hpp"

namespace vkgrad::test {
namespace {

struct Moments {
  double mean = 0, var = 0, min = INFINITY, max = -INFINITY;
};

Moments moments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) {
    m.mean += x;
    m.min = std::min<double>(m.min, x);
    m.max = std::max<double>(m.max, x);
  }
  m.mean /= double(v.size());
  for (float x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= double(v.size() - 1);
  return m;
}

// The sample mean and variance of n draws from a distribution with mean mu, variance sigma2 and
// fourth central moment mu4 must lie within 4 standard errors: SE(mean) = √(σ²/n),
// SE(variance) ≈ √((μ4 − σ⁴)/n). (A 4σ band fails by chance with probability ~6e-5 per check,
// and the seeds are fixed, so a pass is reproducible.)
void check_moments(const std::vector<float>& v, double mu, double sigma2, double mu4) {
  const double n = double(v.size());
  const Moments m = moments(v);
  INFO("mean " << m.mean << " (expected " << mu << "), variance " << m.var << " (expected " << sigma2 << ")");
  CHECK(std::fabs(m.mean - mu) <= 4 * std::sqrt(sigma2 / n));
  CHECK(std::fabs(m.var - sigma2) <= 4 * std::sqrt((mu4 - sigma2 * sigma2) / n));
}

void check_uniform_stats(const std::vector<float>& v, double a, double b) {
  const double w = b - a;
  check_moments(v, (a + b) / 2, w * w / 12, w * w * w * w / 80);
  const Moments m = moments(v);
  INFO("min " << m.min << ", max " << m.max << ", bounds [" << a << ", " << b << "]");
  CHECK(m.min >= float(a));
  CHECK(m.max <= float(b));
  // 1M draws come within ~w·1e-5 of each end; 1e-4·w is a loose but failing-when-wrong margin.
  CHECK(m.min <= a + 1e-4 * w);
  CHECK(m.max >= b - 1e-4 * w);
}

void check_normal_stats(const std::vector<float>& v, double mean, double std) {
  const double s2 = std * std;
  check_moments(v, mean, s2, 3 * s2 * s2);
  // Box–Muller with 24-bit u1 cannot exceed √(2·ln 2^24) ≈ 5.77 standard deviations.
  const Moments m = moments(v);
  CHECK(m.max <= mean + 5.78 * std);
  CHECK(m.min >= mean - 5.78 * std);
}

std::vector<float> run_init(const std::function<void(CommandList&, Tensor&)>& init, Shape shape) {
  Context& ctx = context();
  Tensor t(ctx, shape);
  t.fill(poison);
  CommandList cmd(ctx);
  init(cmd, t);
  cmd.run();
  require_no_validation_messages();
  return t.to_vector();
}

constexpr uint64_t kMillion = 1u << 20;

}  // namespace

TEST_CASE("philox4x32-10 reference matches the Random123 known-answer vectors", "[init][reference]") {
  using A4 = std::array<uint32_t, 4>;
  CHECK(ref::philox4x32_10({0, 0, 0, 0}, {0, 0}) == A4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(ref::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        A4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(ref::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        A4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("init_uniform draws exactly the reference generator's samples", "[init]") {
  const uint64_t seed = 0x123456789abcdefull;
  for (uint64_t n : {uint64_t(1), uint64_t(13), uint64_t(257), kMillion + 3}) {
    const auto got = run_init([&](CommandList& c, Tensor& t) { init_uniform(c, t, -2.0f, 3.0f, seed); }, {n});
    std::vector<double> expected(n);
    for (uint32_t i = 0; i < n; ++i) expected[i] = ref::init_uniform_sample(seed, i, -2.0, 3.0);
    // One float rounding of (b − a)·u and one of the sum (fused or not): <= 2 ulp of |x| <= 3.
    const auto m = compare(got, expected, 0.0, 5e-7);
    INFO("n " << n << ": " << m.count << " mismatches, worst [" << m.worst_index << "] got " << m.got << " expected "
              << m.expected);
    CHECK(m.count == 0);
  }
}

TEST_CASE("initializers are reproducible from the seed", "[init]") {
  const Shape shape{1000, 1031};
  for (int dist = 0; dist < 2; ++dist) {
    auto draw = [&](uint64_t seed) {
      return run_init(
          [&](CommandList& c, Tensor& t) {
            if (dist == 0)
              init_uniform(c, t, 0.0f, 1.0f, seed);
            else
              init_normal(c, t, 0.0f, 1.0f, seed);
          },
          shape);
    };
    const auto a = draw(7), b = draw(7), c = draw(8), d = draw(uint64_t(7) | (uint64_t(1) << 32));
    CHECK(a == b);
    std::size_t same_c = 0, same_d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      same_c += a[i] == c[i];
      same_d += a[i] == d[i];
    }
    // Independent 24-bit draws coincide with probability 2^-24 each: ~0.06 of 1M.
    CHECK(same_c < 10);
    CHECK(same_d < 10);  // the high half of the seed matters too
  }
  // A replay of one recorded list gives the same tensor again.
  Context& ctx = context();
  Tensor t(ctx, {4099});
  CommandList cmd(ctx);
  init_normal(cmd, t, 1.0f, 2.0f, 3);
  cmd.run();
  const auto first = t.to_vector();
  t.fill(poison);
  cmd.run();
  require_no_validation_messages();
  CHECK(t.to_vector() == first);
}

TEST_CASE("uniform and normal initializers have the right statistics", "[init]") {
  check_uniform_stats(run_init([](CommandList& c, Tensor& t) { init_uniform(c, t, -0.5f, 2.0f, 11); }, {kMillion}),
                      -0.5, 2.0);
  check_normal_stats(run_init([](CommandList& c, Tensor& t) { init_normal(c, t, 0.5f, 3.0f, 12); }, {kMillion}), 0.5,
                     3.0);
}

TEST_CASE("xavier and kaiming initializers have PyTorch's bounds and spreads", "[init]") {
  const Shape shape{1024, 1031};  // Linear weight: out = 1024, in = 1031
  const double fan_in = 1031, fan_out = 1024;

  const double xu = std::sqrt(6.0 / (fan_in + fan_out));
  CHECK(xavier_uniform_bound(shape) == Approx(xu).epsilon(1e-12));
  check_uniform_stats(run_init([](CommandList& c, Tensor& t) { init_xavier_uniform(c, t, 21); }, shape), -xu, xu);

  const double gain_tanh = 5.0 / 3.0;
  check_normal_stats(run_init([&](CommandList& c, Tensor& t) { init_xavier_normal(c, t, 22, gain_tanh); }, shape), 0.0,
                     gain_tanh * std::sqrt(2.0 / (fan_in + fan_out)));

  // kaiming_uniform_ defaults (a = 0, fan_in, leaky_relu): gain √2, bound √3·√2/√fan_in.
  const double ku = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(fan_in);
  check_uniform_stats(run_init([](CommandList& c, Tensor& t) { init_kaiming_uniform(c, t, 23); }, shape), -ku, ku);
  // The PyTorch Linear default: kaiming_uniform_(a = √5) gives bound 1/√fan_in.
  check_uniform_stats(
      run_init([](CommandList& c, Tensor& t) { init_kaiming_uniform(c, t, 24, std::sqrt(5.0)); }, shape),
      -1 / std::sqrt(fan_in), 1 / std::sqrt(fan_in));

  check_normal_stats(run_init([](CommandList& c,
                                 Tensor& t) { init_kaiming_normal(c, t, 25, 0, FanMode::fan_out, Nonlinearity::relu); },
                              shape),
                     0.0, std::sqrt(2.0) / std::sqrt(fan_out));
}

TEST_CASE("calculate_gain and calculate_fans follow torch.nn.init", "[init]") {
  CHECK(calculate_gain(Nonlinearity::linear) == 1.0);
  CHECK(calculate_gain(Nonlinearity::sigmoid) == 1.0);
  CHECK(calculate_gain(Nonlinearity::tanh) == Approx(5.0 / 3.0));
  CHECK(calculate_gain(Nonlinearity::relu) == Approx(std::sqrt(2.0)));
  CHECK(calculate_gain(Nonlinearity::leaky_relu) == Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
  CHECK(calculate_gain(Nonlinearity::leaky_relu, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(calculate_gain(Nonlinearity::selu) == 0.75);
  const Fans linear = calculate_fans({10, 20});
  CHECK(linear.fan_in == 20);
  CHECK(linear.fan_out == 10);
  const Fans conv = calculate_fans({8, 3, 5, 5});
  CHECK(conv.fan_in == 75);
  CHECK(conv.fan_out == 200);
  CHECK_THROWS_WITH(calculate_fans({10}), Catch::Contains("[10]"));
  CHECK(kaiming_std({10, 20}, 0, FanMode::fan_out, Nonlinearity::relu) == Approx(std::sqrt(2.0 / 10)));
}

}  // namespace vkgrad::test
