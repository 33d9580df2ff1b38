// activations.glsl — every activation of include/vkgrad/activations.def as a pair of float32
// functions, act_<name>(x, p0, p1) = f(x) and act_<name>_grad(x, p0, p1) = f'(x), plus the two
// dispatchers activation_forward / activation_grad generated from the table.
//
// p0 / p1 are the row's parameters (PyTorch names in the .def); unused ones are ignored.
// Conventions:
//  - at a kink f' is PyTorch's choice (relu'(0) = 0, hardtanh' = 0 on its bounds, elu'(0) = alpha);
//  - NaN in gives NaN out, for f and for f'. PyTorch's backward of the piecewise ops returns dy for
//    a NaN x; we return NaN rather than hide it. Comparisons are written so that their false branch
//    returns x (`x <= 0.0 ? 0.0 : x`), since GLSL's min / max are undefined for NaN;
//  - ±inf gives the mathematical limit (silu(-inf) = 0, not -inf * 0 = NaN). Where x * g(x) would
//    meet inf * 0, a cutoff beyond which the float result is exactly that limit comes first.
// The heavy numerics (exp, expm1, log1p, tanh, erf, sigmoid) live in math.glsl.

#ifndef VKGRAD_ACTIVATIONS_GLSL
#define VKGRAD_ACTIVATIONS_GLSL

#include "math.glsl"

// y = x
float act_identity(float x, float p0, float p1) { return x; }
// y' = 1
float act_identity_grad(float x, float p0, float p1) { return propagate_nan(x, 1.0); }

// y = 1 / (1 + e^-x)
float act_sigmoid(float x, float p0, float p1) { return math_sigmoid(x); }
// y' = sigmoid(x) sigmoid(-x)
float act_sigmoid_grad(float x, float p0, float p1) { return math_sigmoid_grad(x); }

// y = tanh(x)
float act_tanh(float x, float p0, float p1) { return math_tanh(x); }
// y' = 1 - tanh(x)^2 = 4 sigmoid(2x) sigmoid(-2x), which keeps relative accuracy for large |x|
float act_tanh_grad(float x, float p0, float p1) { return 4.0 * math_sigmoid_grad(2.0 * x); }

// y = max(x, 0)
float act_relu(float x, float p0, float p1) { return x <= 0.0 ? 0.0 : x; }
// y' = x > 0 ? 1 : 0
float act_relu_grad(float x, float p0, float p1) { return propagate_nan(x, x > 0.0 ? 1.0 : 0.0); }

// y = min(max(x, 0), 6)
float act_relu6(float x, float p0, float p1) { return x <= 0.0 ? 0.0 : (x >= 6.0 ? 6.0 : x); }
// y' = 0 < x < 6 ? 1 : 0 (PyTorch: 0 at both bounds)
float act_relu6_grad(float x, float p0, float p1) {
    return propagate_nan(x, x > 0.0 && x < 6.0 ? 1.0 : 0.0);
}

// y = x > 0 ? x : negative_slope * x
float act_leaky_relu(float x, float p0, float p1) { return x > 0.0 ? x : p0 * x; }
// y' = x > 0 ? 1 : negative_slope
float act_leaky_relu_grad(float x, float p0, float p1) {
    return propagate_nan(x, x > 0.0 ? 1.0 : p0);
}

// y = x > 0 ? x : alpha (e^x - 1)
float act_elu(float x, float p0, float p1) {
    float negative = p0 * math_expm1(x);
    return x > 0.0 ? x : negative;
}
// y' = x > 0 ? 1 : alpha e^x
float act_elu_grad(float x, float p0, float p1) {
    float negative = p0 * math_exp(x);
    return x > 0.0 ? 1.0 : negative;
}

const float SELU_ALPHA = 1.6732632423543772848170429916717;
const float SELU_SCALE = 1.0507009873554804934193349852946;
// y = scale (x > 0 ? x : alpha (e^x - 1))
float act_selu(float x, float p0, float p1) {
    float negative = SELU_ALPHA * math_expm1(x);
    return SELU_SCALE * (x > 0.0 ? x : negative);
}
// y' = scale (x > 0 ? 1 : alpha e^x)
float act_selu_grad(float x, float p0, float p1) {
    float negative = SELU_ALPHA * math_exp(x);
    return SELU_SCALE * (x > 0.0 ? 1.0 : negative);
}

// y = x > 0 ? x : alpha (e^(x/alpha) - 1)
float act_celu(float x, float p0, float p1) {
    float negative = p0 * math_expm1(x / p0);
    return x > 0.0 ? x : negative;
}
// y' = x > 0 ? 1 : e^(x/alpha)
float act_celu_grad(float x, float p0, float p1) {
    float negative = math_exp(x / p0);
    return x > 0.0 ? 1.0 : negative;
}

// y = x Phi(x), Phi the standard normal CDF (exact erf form); 0 below -16, where x Phi(x)
// underflows
float act_gelu(float x, float p0, float p1) {
    float y = x * math_normal_cdf(x);
    return x < -16.0 ? 0.0 : y;
}
// y' = Phi(x) + x phi(x), both from one e^(-x^2/2)
float act_gelu_grad(float x, float p0, float p1) {
    float e = exp_neg_scaled_square(x, 0.5);
    float y = normal_cdf_given_exp(x, e) + x * (MATH_INV_SQRT_2PI * e);
    return abs(x) > 16.0 ? (x > 0.0 ? 1.0 : 0.0) : y;
}

const float GELU_TANH_BETA = 0.797884560802865355880;  // sqrt(2 / pi)
const float GELU_TANH_KAPPA = 0.044715;
// y = x/2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the sigmoid form has
// no 1 + tanh cancellation
float act_gelu_tanh(float x, float p0, float p1) {
    float u = GELU_TANH_BETA * x * (1.0 + GELU_TANH_KAPPA * x * x);
    float y = x * math_sigmoid(2.0 * u);
    return x < -20.0 ? 0.0 : y;  // sigmoid(2u) underflows
}
// y' = sigmoid(2u) + 2x u' sigmoid'(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
float act_gelu_tanh_grad(float x, float p0, float p1) {
    float u = GELU_TANH_BETA * x * (1.0 + GELU_TANH_KAPPA * x * x);
    float du = GELU_TANH_BETA * (1.0 + 3.0 * GELU_TANH_KAPPA * x * x);
    float e = math_exp(-abs(2.0 * u));
    float y = sigmoid_given_exp(2.0 * u, e) + 2.0 * x * du * sigmoid_grad_given_exp(e);
    return abs(x) > 20.0 ? (x > 0.0 ? 1.0 : 0.0) : y;
}

// y = x sigmoid(x)
float act_silu(float x, float p0, float p1) {
    float y = x * math_sigmoid(x);
    return x < -120.0 ? 0.0 : y;
}
// y' = sigmoid(x) + x sigmoid(x) sigmoid(-x)
float act_silu_grad(float x, float p0, float p1) {
    float e = math_exp(-abs(x));
    float y = sigmoid_given_exp(x, e) + x * sigmoid_grad_given_exp(e);
    return abs(x) > 120.0 ? (x > 0.0 ? 1.0 : 0.0) : y;
}

// y = x tanh(softplus(x)). With e = e^x, tanh(log(1 + e)) = n / (n + 2), n = e (e + 2); for x >= 0
// the same written in e = e^-x is (1 + 2e) / (1 + 2e + 2e^2). No log, no overflow. Both are
// num / (num + c) with e = e^-|x|, so one exponential and one division serve either sign.
float act_mish(float x, float p0, float p1) {
    float e = math_exp(-abs(x));
    bool positive = x >= 0.0;
    float num = positive ? 1.0 + 2.0 * e : e * (e + 2.0);
    float den = num + (positive ? 2.0 * e * e : 2.0);
    float y = x * num / den;
    return x < -120.0 ? 0.0 : y;
}
// y' = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x)); 1 - t^2 = 4(n + 1) / (n + 2)^2, or
// 4 e^2 (1 + e)^2 / (1 + 2e + 2e^2)^2 in e = e^-x (t as in act_mish)
float act_mish_grad(float x, float p0, float p1) {
    float e = math_exp(-abs(x));
    bool positive = x >= 0.0;
    float num = positive ? 1.0 + 2.0 * e : e * (e + 2.0);
    float den = num + (positive ? 2.0 * e * e : 2.0);
    float t = num / den;
    float q = 2.0 * e * (1.0 + e) / den;  // x >= 0: q^2 = 1 - t^2
    float sech2 = 4.0 * (num + 1.0) / (den * den);  // x < 0: 1 - t^2
    float y = t + (positive ? x * q * q / (1.0 + e) : x * sech2 * (e / (1.0 + e)));
    return abs(x) > 120.0 ? (x > 0.0 ? 1.0 : 0.0) : y;
}

// y = beta x > threshold ? x : log(1 + e^(beta x)) / beta,
// with log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
float act_softplus(float x, float p0, float p1) {
    float z = p0 * x;
    float y = ((z > 0.0 ? z : 0.0) + log1p_unit(math_exp(-abs(z)))) / p0;
    return z > p1 ? x : y;
}
// y' = beta x > threshold ? 1 : sigmoid(beta x)
float act_softplus_grad(float x, float p0, float p1) {
    float z = p0 * x;
    float y = math_sigmoid(z);
    return z > p1 ? 1.0 : y;
}

// y = x / (1 + |x|), as sign(x) (1 - 1 / (1 + |x|)) for |x| >= 1 so that ±inf gives ±1
float act_softsign(float x, float p0, float p1) {
    float a = abs(x);
    if (a < 1.0) return x / (1.0 + a);
    float y = 1.0 - 1.0 / (1.0 + a);
    return x > 0.0 ? y : -y;
}
// y' = 1 / (1 + |x|)^2
float act_softsign_grad(float x, float p0, float p1) {
    float r = 1.0 / (1.0 + abs(x));
    return r * r;
}

// y = min(max(x, min_val), max_val)
float act_hardtanh(float x, float p0, float p1) { return x <= p0 ? p0 : (x >= p1 ? p1 : x); }
// y' = min_val < x < max_val ? 1 : 0 (PyTorch: 0 at both bounds)
float act_hardtanh_grad(float x, float p0, float p1) {
    return propagate_nan(x, x > p0 && x < p1 ? 1.0 : 0.0);
}

// y = min(max(x + 3, 0), 6) / 6
float act_hardsigmoid(float x, float p0, float p1) {
    return x <= -3.0 ? 0.0 : (x >= 3.0 ? 1.0 : (x + 3.0) / 6.0);
}
// y' = -3 < x < 3 ? 1/6 : 0
float act_hardsigmoid_grad(float x, float p0, float p1) {
    return propagate_nan(x, x > -3.0 && x < 3.0 ? 1.0 / 6.0 : 0.0);
}

// y = x min(max(x + 3, 0), 6) / 6
float act_hardswish(float x, float p0, float p1) {
    return x <= -3.0 ? 0.0 : (x >= 3.0 ? x : x * (x + 3.0) / 6.0);
}
// y' = x < -3 ? 0 : (x <= 3 ? x/3 + 1/2 : 1) (PyTorch's hardswish_backward, so y'(-3) = -1/2)
float act_hardswish_grad(float x, float p0, float p1) {
    return propagate_nan(x, x < -3.0 ? 0.0 : (x <= 3.0 ? x / 3.0 + 0.5 : 1.0));
}

// y = log(sigmoid(x)) = min(x, 0) - log1p(e^-|x|)
float act_logsigmoid(float x, float p0, float p1) {
    return (x < 0.0 ? x : 0.0) - log1p_unit(math_exp(-abs(x)));
}
// y' = sigmoid(-x) = x < 0 ? 1 / (1 + e) : e / (1 + e), e = e^-|x|
float act_logsigmoid_grad(float x, float p0, float p1) {
    float e = math_exp(-abs(x));
    return (x < 0.0 ? 1.0 : e) / (1.0 + e);
}

// y = x - tanh(x); for |x| < 1, x^3 P(x^2), P a degree-7 Chebyshev fit (error 7e-9), because the
// subtraction would cancel (at x = 0.1 it loses 9 bits)
float act_tanhshrink(float x, float p0, float p1) {
    float w = x * x;
    float w2 = w * w;
    float w4 = w2 * w2;
    float p = ((0.333333332 - 0.133333107 * w) + w2 * (0.0539634148 - 0.0218295488 * w)) +
              w4 * ((0.00869784759 - 0.00320680339 * w) + w2 * (0.000923500846 - 0.000142793188 * w));
    return abs(x) < 1.0 ? x * w * p : x - tanh_large(x);
}
// y' = tanh(x)^2
float act_tanhshrink_grad(float x, float p0, float p1) {
    float t = math_tanh(x);
    return t * t;
}

// y = |x| <= lambd ? 0 : x - sign(x) lambd
float act_softshrink(float x, float p0, float p1) {
    return abs(x) <= p0 ? 0.0 : (x > 0.0 ? x - p0 : x + p0);
}
// y' = |x| <= lambd ? 0 : 1 (PyTorch: 0 at ±lambd)
float act_softshrink_grad(float x, float p0, float p1) {
    return propagate_nan(x, abs(x) <= p0 ? 0.0 : 1.0);
}

// y = |x| <= lambd ? 0 : x
float act_hardshrink(float x, float p0, float p1) { return abs(x) <= p0 ? 0.0 : x; }
// y' = |x| <= lambd ? 0 : 1
float act_hardshrink_grad(float x, float p0, float p1) {
    return propagate_nan(x, abs(x) <= p0 ? 0.0 : 1.0);
}

// y = x > threshold ? x : value (nn.Threshold)
float act_threshold(float x, float p0, float p1) { return x <= p0 ? p1 : x; }
// y' = x > threshold ? 1 : 0
float act_threshold_grad(float x, float p0, float p1) {
    return propagate_nan(x, x > p0 ? 1.0 : 0.0);
}

// y = x > 0 ? x : weight x (the slope is a scalar here; prelu_*.comp pass the channel's weight)
float act_prelu(float x, float p0, float p1) { return x > 0.0 ? x : p0 * x; }
// dy/dx = x > 0 ? 1 : weight
float act_prelu_grad(float x, float p0, float p1) { return propagate_nan(x, x > 0.0 ? 1.0 : p0); }
// dy/dweight = x > 0 ? 0 : x (used by prelu_weight_grad.comp)
float act_prelu_weight_grad(float x) { return x > 0.0 ? 0.0 : x; }

// The dispatchers: one case per row of the table. Macro parameters are named apart from the
// function parameters (x, p0, p1) so that the expansion does not substitute into the call.
float activation_forward(uint id, float x, float p0, float p1) {
    switch (id) {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
    case row_id: return act_##name(x, p0, p1);
#include "activations.def"
#undef VKGRAD_ACTIVATION
    }
    return math_nan();  // unknown id
}

float activation_grad(uint id, float x, float p0, float p1) {
    switch (id) {
#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
    case row_id: return act_##name##_grad(x, p0, p1);
#include "activations.def"
#undef VKGRAD_ACTIVATION
    }
    return math_nan();
}

#endif  // VKGRAD_ACTIVATIONS_GLSL
