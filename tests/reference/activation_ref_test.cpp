// activation_ref_test.cpp — checks the CPU reference itself (tests/reference/activation_ref.cpp):
// the table is well formed, every derivative matches central finite differences of its forward,
// kinks follow PyTorch's convention, and ±inf / NaN give the documented results.
#include "activation_ref.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace vkgrad::ref;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Row {
  const char* name;
  uint32_t id;
  double p0_default;
  double p1_default;
};

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) {#name, row_id, p0d, p1d},
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
  };
  return rows;
}

bool is(const Row& row, const char* name) { return std::strcmp(row.name, name) == 0; }

struct Params {
  double p0;
  double p1;
};

// The defaults plus non-default parameters for the rows that have any.
std::vector<Params> parameter_sets(const Row& row) {
  std::vector<Params> sets = {{row.p0_default, row.p1_default}};
  if (is(row, "leaky_relu")) sets.insert(sets.end(), {{0.2, 0}, {-0.3, 0}});
  if (is(row, "elu") || is(row, "celu")) sets.insert(sets.end(), {{0.5, 0}, {2.0, 0}});
  if (is(row, "softplus")) sets.insert(sets.end(), {{2.0, 20}, {0.5, 3}, {1.0, 5}});
  if (is(row, "hardtanh")) sets.insert(sets.end(), {{-2.0, 3.0}, {0.5, 1.5}});
  if (is(row, "softshrink") || is(row, "hardshrink")) sets.insert(sets.end(), {{0.3, 0}, {2.0, 0}});
  if (is(row, "threshold")) sets.insert(sets.end(), {{0.5, -2.0}, {-1.0, 3.0}});
  if (is(row, "prelu")) sets.insert(sets.end(), {{0.1, 0}, {-0.5, 0}});
  return sets;
}

// Points where f or f' is not continuous, so a finite difference there means nothing (softsign's
// f'' jumps at 0, which leaves an O(h) error).
std::vector<double> kinks(const Row& row, Params p) {
  if (is(row, "softsign")) return {0};
  if (is(row, "relu") || is(row, "leaky_relu") || is(row, "prelu") || is(row, "elu") || is(row, "celu") ||
      is(row, "selu"))
    return {0};
  if (is(row, "relu6")) return {0, 6};
  if (is(row, "hardtanh")) return {p.p0, p.p1};
  if (is(row, "hardsigmoid") || is(row, "hardswish")) return {-3, 3};
  if (is(row, "softshrink") || is(row, "hardshrink")) return {-p.p0, p.p0};
  if (is(row, "threshold")) return {p.p0};
  if (is(row, "softplus")) return {p.p1 / p.p0};  // switch to the linear branch (jump ~e^-t / beta)
  return {};
}

std::vector<double> grid() {
  std::vector<double> xs;
  for (int i = -800; i <= 800; ++i) xs.push_back(i / 100.0 + 0.001);  // off the round kinks
  for (int i = -64; i <= 64; ++i) xs.push_back(i / 8.0);              // and on them
  xs.insert(xs.end(), {-30.0, 30.0, -29.5, 29.5, 1e-4, -1e-4});
  return xs;
}

}  // namespace

TEST_CASE("activation table: ids are consecutive row numbers, names unique", "[reference]") {
  const auto& rows = table();
  REQUIRE(rows.size() == activation_count());
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(rows[i].name);
    CHECK(rows[i].id == i);
    CHECK(std::string(activation_name(uint32_t(i))) == rows[i].name);
    for (size_t j = 0; j < i; ++j) CHECK(std::string(rows[j].name) != rows[i].name);
  }
  CHECK(activation_name(activation_count()) == nullptr);
  CHECK(std::isnan(activation_forward(activation_count(), 1.0, 0, 0)));
  CHECK(std::isnan(activation_grad(activation_count(), 1.0, 0, 0)));
}

TEST_CASE("reference derivatives match central finite differences", "[reference]") {
  for (const Row& row : table()) {
    for (Params p : parameter_sets(row)) {
      std::vector<double> skip = kinks(row, p);
      for (double x : grid()) {
        double h = 1e-6 * std::max(1.0, std::abs(x));
        bool near_kink = std::any_of(skip.begin(), skip.end(), [&](double k) { return std::abs(x - k) < 4 * h; });
        if (near_kink) continue;
        double fd =
            (activation_forward(row.id, x + h, p.p0, p.p1) - activation_forward(row.id, x - h, p.p0, p.p1)) / (2 * h);
        double g = activation_grad(row.id, x, p.p0, p.p1);
        // Rounding of f(x ± h) over 2h: ~1e-16 |f| / h; truncation ~h^2 |f'''|.
        double f = std::abs(activation_forward(row.id, x, p.p0, p.p1));
        double tol = 1e-7 + 1e-7 * std::abs(g) + 1e-9 * f / std::max(1.0, std::abs(x));
        CAPTURE(row.name, p.p0, p.p1, x, fd, g);
        CHECK(std::abs(fd - g) <= tol);
      }
    }
  }
}

TEST_CASE("reference derivatives at kinks follow PyTorch", "[reference]") {
  auto grad = [](const char* name, double x, double p0, double p1) {
    for (const Row& row : table())
      if (is(row, name)) return activation_grad(row.id, x, p0, p1);
    FAIL("no activation " << name);
    return kNaN;
  };
  CHECK(grad("relu", 0, 0, 0) == 0);
  CHECK(grad("relu6", 0, 0, 0) == 0);
  CHECK(grad("relu6", 6, 0, 0) == 0);
  CHECK(grad("leaky_relu", 0, 0.01, 0) == 0.01);
  CHECK(grad("prelu", 0, 0.25, 0) == 0.25);
  CHECK(grad("elu", 0, 1, 0) == 1);
  CHECK(grad("elu", 0, 2, 0) == 2);  // alpha e^0
  CHECK(grad("celu", 0, 2, 0) == 1);
  CHECK(grad("selu", 0, 0, 0) == Approx(1.0507009873554805 * 1.6732632423543772));
  CHECK(grad("hardtanh", -1, -1, 1) == 0);
  CHECK(grad("hardtanh", 1, -1, 1) == 0);
  CHECK(grad("hardsigmoid", -3, 0, 0) == 0);
  CHECK(grad("hardsigmoid", 3, 0, 0) == 0);
  CHECK(grad("hardswish", -3, 0, 0) == -0.5);  // x/3 + 1/2 branch includes -3
  CHECK(grad("hardswish", 3, 0, 0) == 1.5);
  CHECK(grad("softshrink", 0.5, 0.5, 0) == 0);
  CHECK(grad("softshrink", -0.5, 0.5, 0) == 0);
  CHECK(grad("hardshrink", 0.5, 0.5, 0) == 0);
  CHECK(grad("hardshrink", -0.5, 0.5, 0) == 0);
  CHECK(grad("threshold", 0, 0, 0) == 0);
  CHECK(grad("threshold", 1, 1, 5) == 0);
  CHECK(grad("softplus", 20, 1, 20) == Approx(1 / (1 + std::exp(-20.0))));  // not yet linear
}

namespace {

struct Limits {
  const char* name;
  double f_minus_inf, f_plus_inf, grad_minus_inf, grad_plus_inf;
};

// With the default parameters.
const Limits kLimits[] = {
    {"identity", -kInf, kInf, 1, 1},
    {"sigmoid", 0, 1, 0, 0},
    {"tanh", -1, 1, 0, 0},
    {"relu", 0, kInf, 0, 1},
    {"relu6", 0, 6, 0, 0},
    {"leaky_relu", -kInf, kInf, 0.01, 1},
    {"elu", -1, kInf, 0, 1},
    {"selu", -1.0507009873554805 * 1.6732632423543772, kInf, 0, 1.0507009873554805},
    {"celu", -1, kInf, 0, 1},
    {"gelu", 0, kInf, 0, 1},
    {"gelu_tanh", 0, kInf, 0, 1},
    {"silu", 0, kInf, 0, 1},
    {"mish", 0, kInf, 0, 1},
    {"softplus", 0, kInf, 0, 1},
    {"softsign", -1, 1, 0, 0},
    {"hardtanh", -1, 1, 0, 0},
    {"hardsigmoid", 0, 1, 0, 0},
    {"hardswish", 0, kInf, 0, 1},
    {"logsigmoid", -kInf, 0, 1, 0},
    {"tanhshrink", -kInf, kInf, 1, 1},
    {"softshrink", -kInf, kInf, 1, 1},
    {"hardshrink", -kInf, kInf, 1, 1},
    {"threshold", 0, kInf, 0, 1},
    {"prelu", -kInf, kInf, 0.25, 1},
};

}  // namespace

TEST_CASE("reference limits at ±inf, NaN propagation, no overflow", "[reference]") {
  REQUIRE(std::size(kLimits) == activation_count());
  for (const Row& row : table()) {
    const Limits* lim = nullptr;
    for (const Limits& l : kLimits)
      if (is(row, l.name)) lim = &l;
    CAPTURE(row.name);
    REQUIRE(lim != nullptr);
    double p0 = row.p0_default, p1 = row.p1_default;
    CHECK(activation_forward(row.id, -kInf, p0, p1) == Approx(lim->f_minus_inf));
    CHECK(activation_forward(row.id, kInf, p0, p1) == Approx(lim->f_plus_inf));
    CHECK(activation_grad(row.id, -kInf, p0, p1) == Approx(lim->grad_minus_inf));
    CHECK(activation_grad(row.id, kInf, p0, p1) == Approx(lim->grad_plus_inf));
    CHECK(std::isnan(activation_forward(row.id, kNaN, p0, p1)));
    CHECK(std::isnan(activation_grad(row.id, kNaN, p0, p1)));
    for (double x : {-1000.0, 1000.0, -1e30, 1e30}) {
      CAPTURE(x);
      CHECK(std::isfinite(activation_forward(row.id, x, p0, p1)));
      CHECK(std::isfinite(activation_grad(row.id, x, p0, p1)));
    }
  }
}

TEST_CASE("reference prelu slope gradient sums x * dy over x <= 0, per channel", "[reference]") {
  // x is (outer = 2, channels = 3, inner = 2).
  const float x[12] = {1, -1, -2, 3, 0, -4, /* o = 1 */ -1, -1, 5, -2, -3, 2};
  const float dy[12] = {1, 2, 3, 4, 5, 6, /* o = 1 */ 1, 1, 1, 1, 1, 1};
  double dw[3] = {99, 99, 99};
  prelu_weight_grad(x, dy, 12, 3, 2, dw);
  CHECK(dw[0] == -1 * 2 + -1 * 1 + -1 * 1);  // channel 0: x = 1, -1 | -1, -1
  CHECK(dw[1] == -2 * 3 + -2 * 1);           // channel 1: x = -2, 3 | 5, -2
  CHECK(dw[2] == 0 * 5 + -4 * 6 + -3 * 1);   // channel 2: x = 0, -4 | -3, 2
  double shared[1] = {99};
  prelu_weight_grad(x, dy, 12, 1, 2, shared);  // one slope for everything
  CHECK(shared[0] == dw[0] + dw[1] + dw[2]);
}
