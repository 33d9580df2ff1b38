// activation_ref.cpp — plain double-precision math for every activation; see activation_ref.hpp.
//
// Clarity first, with two exceptions that keep the reference exact where float32 results are still
// meaningful: no overflow (sigmoid(-1000) = 0, not NaN) and no 1 - s cancellation in derivatives
// (sigmoid' = sigmoid(x) sigmoid(-x)). Piecewise functions compare so that a NaN x falls through to
// the branch returning x (`x <= 0 ? 0 : x`), or use propagate_nan for derivatives.
#include "activation_ref.hpp"

#include <cmath>
#include <limits>

namespace vkgrad::ref {
namespace {

constexpr double kPi = 3.14159265358979323846;

// value, or x itself when x is NaN.
double propagate_nan(double x, double value) { return std::isnan(x) ? x : value; }

// 1 / (1 + e^-x), through e^-|x| so that neither side overflows.
double sigmoid(double x) {
  double e = std::exp(-std::abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
double log1p_exp(double x) { return (x > 0 ? x : 0.0) + std::log1p(std::exp(-std::abs(x))); }

// Standard normal CDF and density.
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * kPi); }

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
const double kGeluTanhBeta = std::sqrt(2 / kPi);
constexpr double kGeluTanhKappa = 0.044715;

}  // namespace

double identity_forward(double x, double, double) { return x; }
double identity_grad(double x, double, double) { return propagate_nan(x, 1); }

double sigmoid_forward(double x, double, double) { return sigmoid(x); }
double sigmoid_grad(double x, double, double) { return sigmoid(x) * sigmoid(-x); }

double tanh_forward(double x, double, double) { return std::tanh(x); }
// 1 - tanh^2 = 1 / cosh^2; cosh overflows to inf for large |x|, giving the right limit 0.
double tanh_grad(double x, double, double) { return 1 / (std::cosh(x) * std::cosh(x)); }

double relu_forward(double x, double, double) { return x <= 0 ? 0 : x; }
double relu_grad(double x, double, double) { return propagate_nan(x, x > 0 ? 1 : 0); }

double relu6_forward(double x, double, double) { return x <= 0 ? 0 : (x >= 6 ? 6 : x); }
double relu6_grad(double x, double, double) { return propagate_nan(x, x > 0 && x < 6 ? 1 : 0); }

// p0 = negative_slope
double leaky_relu_forward(double x, double p0, double) { return x > 0 ? x : p0 * x; }
double leaky_relu_grad(double x, double p0, double) { return propagate_nan(x, x > 0 ? 1 : p0); }

// p0 = alpha; elu'(0) = alpha e^0 = alpha (PyTorch uses the x <= 0 branch at 0)
double elu_forward(double x, double p0, double) { return x > 0 ? x : p0 * std::expm1(x); }
double elu_grad(double x, double p0, double) { return x > 0 ? 1 : p0 * std::exp(x); }

double selu_forward(double x, double, double) { return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); }
double selu_grad(double x, double, double) { return kSeluScale * (x > 0 ? 1 : kSeluAlpha * std::exp(x)); }

// p0 = alpha
double celu_forward(double x, double p0, double) { return x > 0 ? x : p0 * std::expm1(x / p0); }
double celu_grad(double x, double p0, double) { return x > 0 ? 1 : std::exp(x / p0); }

// x Phi(x); -inf * 0 would be NaN, the limit is 0.
double gelu_forward(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? x : 0;
  return x * normal_cdf(x);
}
double gelu_grad(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? 1 : 0;
  return normal_cdf(x) + x * normal_pdf(x);
}

// x/2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
double gelu_tanh_forward(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? x : 0;
  double u = kGeluTanhBeta * (x + kGeluTanhKappa * x * x * x);
  return x * sigmoid(2 * u);
}
double gelu_tanh_grad(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? 1 : 0;
  double u = kGeluTanhBeta * (x + kGeluTanhKappa * x * x * x);
  double du = kGeluTanhBeta * (1 + 3 * kGeluTanhKappa * x * x);
  return sigmoid(2 * u) + 2 * x * du * sigmoid(2 * u) * sigmoid(-2 * u);
}

double silu_forward(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? x : 0;
  return x * sigmoid(x);
}
double silu_grad(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? 1 : 0;
  return sigmoid(x) * (1 + x * sigmoid(-x));
}

double mish_forward(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? x : 0;
  return x * std::tanh(log1p_exp(x));
}
// tanh(sp) + x sech^2(sp) sigmoid(x), sp = softplus(x)
double mish_grad(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? 1 : 0;
  double sp = log1p_exp(x);
  return std::tanh(sp) + x * sigmoid(x) / (std::cosh(sp) * std::cosh(sp));
}

// p0 = beta, p1 = threshold: linear once beta x > threshold (PyTorch)
double softplus_forward(double x, double p0, double p1) { return p0 * x > p1 ? x : log1p_exp(p0 * x) / p0; }
double softplus_grad(double x, double p0, double p1) { return p0 * x > p1 ? 1 : sigmoid(p0 * x); }

double softsign_forward(double x, double, double) {
  if (std::isinf(x)) return x > 0 ? 1 : -1;
  return x / (1 + std::abs(x));
}
double softsign_grad(double x, double, double) { return 1 / ((1 + std::abs(x)) * (1 + std::abs(x))); }

// p0 = min_val, p1 = max_val
double hardtanh_forward(double x, double p0, double p1) { return x <= p0 ? p0 : (x >= p1 ? p1 : x); }
double hardtanh_grad(double x, double p0, double p1) { return propagate_nan(x, x > p0 && x < p1 ? 1 : 0); }

double hardsigmoid_forward(double x, double, double) { return x <= -3 ? 0 : (x >= 3 ? 1 : (x + 3) / 6); }
double hardsigmoid_grad(double x, double, double) { return propagate_nan(x, x > -3 && x < 3 ? 1.0 / 6 : 0); }

double hardswish_forward(double x, double, double) { return x <= -3 ? 0 : (x >= 3 ? x : x * (x + 3) / 6); }
// PyTorch's hardswish_backward: x < -3 ? 0 : x <= 3 ? x/3 + 1/2 : 1
double hardswish_grad(double x, double, double) { return propagate_nan(x, x < -3 ? 0 : (x <= 3 ? x / 3 + 0.5 : 1)); }

double logsigmoid_forward(double x, double, double) { return -log1p_exp(-x); }
double logsigmoid_grad(double x, double, double) { return sigmoid(-x); }

double tanhshrink_forward(double x, double, double) { return x - std::tanh(x); }
double tanhshrink_grad(double x, double, double) { return std::tanh(x) * std::tanh(x); }

// p0 = lambd
double softshrink_forward(double x, double p0, double) { return std::abs(x) <= p0 ? 0 : (x > 0 ? x - p0 : x + p0); }
double softshrink_grad(double x, double p0, double) { return propagate_nan(x, std::abs(x) <= p0 ? 0 : 1); }

// p0 = lambd
double hardshrink_forward(double x, double p0, double) { return std::abs(x) <= p0 ? 0 : x; }
double hardshrink_grad(double x, double p0, double) { return propagate_nan(x, std::abs(x) <= p0 ? 0 : 1); }

// p0 = threshold, p1 = value: x > threshold ? x : value
double threshold_forward(double x, double p0, double p1) { return x <= p0 ? p1 : x; }
double threshold_grad(double x, double p0, double) { return propagate_nan(x, x > p0 ? 1 : 0); }

// p0 = weight (the slope)
double prelu_forward(double x, double p0, double) { return x > 0 ? x : p0 * x; }
double prelu_grad(double x, double p0, double) { return propagate_nan(x, x > 0 ? 1 : p0); }

double activation_forward(uint32_t id, double x, double p0, double p1) {
  switch (id) {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
  case row_id:                                                              \
    return name##_forward(x, p0, p1);
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double activation_grad(uint32_t id, double x, double p0, double p1) {
  switch (id) {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
  case row_id:                                                              \
    return name##_grad(x, p0, p1);
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
  }
  return std::numeric_limits<double>::quiet_NaN();
}

const char* activation_name(uint32_t id) {
  switch (id) {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
  case row_id:                                                              \
    return #name;
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
  }
  return nullptr;
}

uint32_t activation_count() {
  uint32_t count = 0;
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) ++count;
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
  return count;
}

void prelu_weight_grad(const float* x, const float* dy, size_t n, size_t channels, size_t inner, double* dw) {
  for (size_t c = 0; c < channels; ++c) dw[c] = 0;
  for (size_t i = 0; i < n; ++i) {
    double xi = x[i];
    dw[(i / inner) % channels] += (xi > 0 ? 0 : xi) * double(dy[i]);
  }
}

}  // namespace vkgrad::ref
