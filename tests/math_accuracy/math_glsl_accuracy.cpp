// math_glsl_accuracy: shaders/math.glsl compiled as C++ (float literals made float, no FMA
// contraction), each function compared with a double reference over every float of its useful
// range; prints the maximum relative error over normal results and where it occurs. The figures in
// math.glsl's header comment come from this program; it fails (exit status 1) where a function
// exceeds the figure stated there. Usage: math_glsl_accuracy [stride] (1 = every float, the
// default, a few minutes; larger values sample every stride-th float for a quick look).
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace glsl {
using uint = std::uint32_t;
inline uint floatBitsToUint(float f) { return std::bit_cast<uint>(f); }
inline int floatBitsToInt(float f) { return std::bit_cast<int>(f); }
inline float uintBitsToFloat(uint u) { return std::bit_cast<float>(u); }
inline float intBitsToFloat(int i) { return std::bit_cast<float>(i); }
inline float abs(float x) { return std::fabs(x); }
inline float floor(float x) { return std::floor(x); }
inline bool isnan(float x) { return std::isnan(x); }
inline bool isinf(float x) { return std::isinf(x); }
#include "math_glsl.hpp"
}  // namespace glsl

namespace {

struct Worst {
  double err = 0;
  float at = 0;
};

// Every stride-th float in [lo, hi] (in the order of their bit patterns, sign by sign).
template <class F, class R>
Worst sweep(float lo, float hi, unsigned stride, F f, R ref) {
  Worst w;
  auto visit = [&](float x) {
    const double want = ref(double(x));
    if (!std::isfinite(want) || std::fabs(want) < double(FLT_MIN) || std::fabs(want) > double(FLT_MAX)) return;
    const double err = std::fabs((double(f(x)) - want) / want);
    if (!(err <= w.err)) w = {err, x};  // NaN results count as the worst
  };
  // Non-negative floats, then negative ones, each as an increasing run of bit patterns.
  auto run = [&](float a, float b) {  // 0 <= a <= b
    for (std::uint64_t u = std::bit_cast<std::uint32_t>(a); u <= std::bit_cast<std::uint32_t>(b); u += stride) {
      visit(std::bit_cast<float>(std::uint32_t(u)));
      visit(-std::bit_cast<float>(std::uint32_t(u)));
    }
  };
  if (lo >= 0) {
    for (std::uint64_t u = std::bit_cast<std::uint32_t>(lo); u <= std::bit_cast<std::uint32_t>(hi); u += stride)
      visit(std::bit_cast<float>(std::uint32_t(u)));
  } else if (hi <= 0) {
    for (std::uint64_t u = std::bit_cast<std::uint32_t>(-hi); u <= std::bit_cast<std::uint32_t>(-lo); u += stride)
      visit(-std::bit_cast<float>(std::uint32_t(u)));
  } else {
    const float m = std::fmin(-lo, hi), top = std::fmax(-lo, hi);
    run(0.0f, m);
    if (top > m)
      for (std::uint64_t u = std::bit_cast<std::uint32_t>(m) + 1; u <= std::bit_cast<std::uint32_t>(top); u += stride)
        visit(top == hi ? std::bit_cast<float>(std::uint32_t(u)) : -std::bit_cast<float>(std::uint32_t(u)));
  }
  return w;
}

bool failed = false;

// bound: the figure math.glsl's header states for this function, to 3 digits (hence the margin of
// half a unit in the last one).
template <class F, class R>
void report(const char* name, double bound, float lo, float hi, unsigned stride, F f, R ref) {
  const Worst w = sweep(lo, hi, stride, f, ref);
  const bool ok = w.err <= bound * 1.005;
  failed = failed || !ok;
  std::printf("%-12s [%g, %g]: max relative error %.3g at x = %.9g%s\n", name, lo, hi, w.err, w.at,
              ok ? "" : " -- above the stated bound");
  std::fflush(stdout);
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double normal_cdf_ref(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

int main(int argc, char** argv) {
  const unsigned stride = argc > 1 ? unsigned(std::strtoul(argv[1], nullptr, 10)) : 1;
  using namespace glsl;
  report("exp", 8.84e-8, -104.0f, 88.8f, stride, math_exp, [](double x) { return std::exp(x); });
  report("expm1", 1.26e-7, -18.0f, 88.8f, stride, math_expm1, [](double x) { return std::expm1(x); });
  report("log1p", 1.23e-7, -1.0f, FLT_MAX, stride, math_log1p, [](double x) { return std::log1p(x); });
  report("log1p_unit", 1.76e-7, 0.0f, 1.0f, stride, log1p_unit, [](double x) { return std::log1p(x); });
  report("tanh", 1.48e-7, -10.0f, 10.0f, stride, math_tanh, [](double x) { return std::tanh(x); });
  report("sigmoid", 1.77e-7, -104.0f, 20.0f, stride, math_sigmoid, sigmoid_ref);
  report("erf", 1.15e-7, -4.0f, 4.0f, stride, math_erf, [](double x) { return std::erf(x); });
  report("erfc", 4.00e-7, -4.0f, 10.1f, stride, math_erfc, [](double x) { return std::erfc(x); });
  report("normal_cdf", 4.19e-7, -14.3f, 6.0f, stride, math_normal_cdf, normal_cdf_ref);
  return failed ? 1 : 0;
}
