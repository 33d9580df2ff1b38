// Conformance tests for every activation of vkgrad/activations.def, forward and backward, generated
// from the table: each row becomes two test cases ("activation/<name>/forward", ".../backward") that
// compare the shipped shaders against the double-precision reference in tests/reference/.
#include <catch2/catch.hpp>
#include <cmath>
#include <deque>
#include <iomanip>
#include <limits>
#include <sstream>

#include "harness.hpp"
#include "reference/activation_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

// Values every activation is tried on: zeros, tiny, denormal, moderate, large, huge, infinite, NaN.
std::vector<float> special_values(const ActivationSpec& act) {
  std::vector<float> v = {0.0f,  -0.0f, 1e-7f, -1e-7f, 1e-3f,  -1e-3f, 0.5f,   -0.5f,  1.0f,    -1.0f,  3.0f,
                          -3.0f, 6.0f,  -6.0f, 20.0f,  -20.0f, 30.0f,  -30.0f, 88.0f,  -88.0f,  100.f,  -100.f,
                          1e4f,  -1e4f, 3e38f, -3e38f, inf,    -inf,   nan,    1e-40f, -1e-40f, 1e-45f, -1e-45f};
  // The activation's own kinks and thresholds, and their neighbours.
  for (float p : {act.params[0], act.params[1], -act.params[0], -act.params[1], act.theta}) {
    v.push_back(p);
    v.push_back(std::nextafter(p, inf));
    v.push_back(std::nextafter(p, -inf));
  }
  return v;
}

std::vector<float> near_zero() {
  std::vector<float> v;
  for (int e = -80; e <= -10; ++e) {
    const float m = std::pow(10.0f, float(e) / 10.0f);
    for (float s : {1.0f, -1.0f, 2.5f, -2.5f, 7.0f, -7.0f}) v.push_back(s * m);
  }
  return v;
}

std::vector<float> large_values() {
  std::vector<float> v;
  for (float m = 8.0f; m < 2e4f; m *= 1.15f) {
    v.push_back(m);
    v.push_back(-m);
  }
  return v;
}

// Uniform in [-6, 6] with the special values woven in every 5th element.
std::vector<float> mixed(std::size_t n, const ActivationSpec& act, uint64_t seed) {
  auto v = uniform(n, -6.0f, 6.0f, seed);
  const auto s = special_values(act);
  for (std::size_t i = 0; i < n; i += 5) v[i] = s[(i / 5) % s.size()];
  return v;
}

double reference(const ActivationSpec& act, bool backward, float x, float dy) {
  const auto id = static_cast<uint32_t>(act.kind);
  const double p0 = act.params[0], p1 = act.params[1];
  if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (act.sparse && !(x > act.theta)) return 0.0;
  if (!backward) return ref::activation_forward(id, x, p0, p1);
  return ref::activation_grad(id, x, p0, p1) * double(dy);
}

void check(const ActivationSpec& act, bool backward, const std::string& set, const std::vector<float>& x) {
  Context& ctx = context();
  const std::size_t n = x.size();
  const Shape shape{n};
  const auto& info = activation_info(act.kind);
  const double rtol = backward ? info.backward_rtol : info.forward_rtol;
  const double atol = backward ? info.backward_atol : info.forward_atol;

  std::vector<float> dy;
  if (backward) {
    dy = uniform(n, -2.0f, 2.0f, n * 7 + 3);
    if (n > 3) dy[n / 2] = nan;  // NaN upstream gradients propagate too
  }
  Tensor tx = Tensor::from(ctx, shape, x);
  Tensor out(ctx, shape);
  out.fill(poison);
  Tensor tdy;
  CommandList cmd(ctx);
  if (backward) {
    tdy = Tensor::from(ctx, shape, dy);
    activation_backward(cmd, act, tx, tdy, out);
  } else {
    activation_forward(cmd, act, tx, out);
  }
  cmd.run();
  const auto got = out.to_vector();
  require_no_validation_messages();

  std::vector<double> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = reference(act, backward, x[i], backward ? dy[i] : 0.0f);
  const Mismatch m = compare(got, expected, rtol, atol);
  if (m.count > 0) {
    std::ostringstream s;
    s << std::setprecision(9) << act.to_string() << (backward ? " backward" : " forward") << ", inputs '" << set
      << "', n=" << n << ": " << m.count << " mismatches; worst at [" << m.worst_index << "]: x=" << x[m.worst_index];
    if (backward) s << " dy=" << dy[m.worst_index];
    s << " got=" << m.got << " expected=" << m.expected << " (|err| / (atol + rtol*|ref|) = " << m.worst_excess
      << ", rtol=" << rtol << ", atol=" << atol << ")";
    FAIL_CHECK(s.str());
  }
}

// A second parameter set, so parameters reach the shader and are not ignored: derived from the
// defaults (keeps min < max for hardtanh, positive slopes and alphas).
ActivationSpec alternate(const ActivationInfo& info) {
  ActivationSpec a(info.kind);
  for (uint32_t i = 0; i < info.param_count; ++i) a.params[i] = info.param_defaults[i] * 2.0f + 0.5f;
  return a;
}

void run(Activation kind, bool backward) {
  const auto& info = activation_info(kind);
  std::vector<ActivationSpec> variants = {ActivationSpec(kind)};
  if (info.param_count > 0) variants.push_back(alternate(info));
  variants.push_back(ActivationSpec(kind).sparse_threshold(0.5f));

  for (std::size_t v = 0; v < variants.size(); ++v) {
    const ActivationSpec& act = variants[v];
    check(act, backward, "special values", special_values(act));
    check(act, backward, "near zero", near_zero());
    check(act, backward, "large", large_values());
    // Every size for the default parameters; the other variants skip the largest.
    for (std::size_t n : {1ul, 7ul, 13ul, 255ul, 256ul, 257ul, 65537ul, (1ul << 20) + 3}) {
      if (v > 0 && n > 65537) continue;
      check(act, backward, "uniform [-6, 6] + specials", mixed(n, act, n + v));
    }
  }
}

class ActivationCase : public Catch::ITestInvoker {
 public:
  ActivationCase(Activation kind, bool backward) : kind_(kind), backward_(backward) {}
  void invoke() const override { run(kind_, backward_); }

 private:
  Activation kind_;
  bool backward_;
};

// Registers one test case per (activation, direction) at static-initialisation time.
const bool registered = [] {
  static std::deque<std::string> names;  // Catch keeps references to the names
  for (const auto& info : activations()) {
    for (bool backward : {false, true}) {
      names.push_back(std::string("activation/") + info.name + (backward ? "/backward" : "/forward"));
      Catch::AutoReg(new ActivationCase(info.kind, backward), CATCH_INTERNAL_LINEINFO, "",
                     Catch::NameAndTags{names.back(), backward ? "[activation][backward]" : "[activation][forward]"});
    }
  }
  return true;
}();

}  // namespace
}  // namespace vkgrad::test
