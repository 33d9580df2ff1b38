// math.glsl — numerically careful float32 primitives for the activation shaders.
//
// GLSL has no erf, expm1 or log1p, and Vulkan lets the builtins be loose: exp may be off by
// 3 + 2|x| ulp, log has only 2^-21 absolute accuracy near 1, and tanh may be computed as
// (e^2x - 1) / (e^2x + 1), which is NaN for large |x| on some drivers. So everything here is
// built from +, -, *, / and bit manipulation only; results agree to a few ulp on every conforming
// driver. The maximum relative error of each function against double, over every float of its
// useful range, is measured by tests/math_accuracy (`math_glsl_accuracy`, this file compiled as
// C++); the figures are in bench/RESULTS.md. All are far below the 1e-5 the activations are held
// to; erfc and normal_cdf are the least accurate, as the rounding of t in erfc_scaled is amplified.
//
// NaN and infinity: each function returns NaN for a NaN argument and the mathematical limit at
// ±inf. Vulkan only promises to keep NaN and inf (and isnan() working) when the entry point
// declares SignedZeroInfNanPreserve, which every module does (float_controls.glsl) and keeps
// where the device has shaderSignedZeroInfNanPreserveFloat32. Nothing here is compiled differently
// for it: the NaN and overflow selects below are needed either way, and are guaranteed only with the
// declaration; where the library strips it (a device without the property, or
// VKGRAD_PRESERVE_INF_NAN=0) they hold on drivers that do not fold them (lavapipe does not: the NaN
// and inf tests also run stripped).
//
// No data-dependent branches: special cases (NaN, overflow, the pieces of erf) are computed and then
// chosen with selects. llvmpipe runs both sides of a divergent branch anyway, under lane masks, and
// the masks of early returns cost more than the selects. On a GPU the extra work is hidden behind
// memory traffic in these elementwise shaders. On a CPU device the transcendental activations are
// bound by these instructions, so the polynomials have the lowest degree that keeps their
// truncation error near 1e-8, e^(-c x^2) takes one range reduction, Phi one erfc fit over the whole
// line, and log1p on [0, 1] one division.
//
// Polynomials are evaluated in Estrin's scheme, (c0 + c1 x) + x^2 (c2 + c3 x) + x^4 (...): the
// same coefficients as Horner's rule, but a dependency chain of logarithmic instead of linear depth.
// On a CPU device one invocation's four elements are not enough independent work to hide the Horner
// chains. Where the lowest terms dominate and the result's accuracy rests on their rounding
// (expm1_kernel's q, erfc_scaled), those are still added last, Horner-style, onto an
// Estrin-evaluated upper part: the all-Estrin forms are measurably less accurate there.
//
// Steps whose rounding must happen exactly as written (range reduction, the log1p rounding
// correction) are `precise`, which forbids the driver to contract or reassociate them. Without it
// lavapipe rewrote 1 + expm1(r) in math_exp (1 ulp worse) and cancelled the Kahan compensation of
// prelu_weight_grad.comp.

#ifndef VKGRAD_MATH_GLSL
#define VKGRAD_MATH_GLSL

const float MATH_LOG2E = 1.44269504088896340736;
// ln 2 split so that k * MATH_LN2_HI is exact for |k| < 512 (MATH_LN2_HI has 15 significant bits).
const float MATH_LN2_HI = 0.693145751953125;
const float MATH_LN2_LO = 1.42860682030941723212e-6;
const float MATH_SQRT1_2 = 0.707106781186547524401;
const float MATH_INV_SQRT_2PI = 0.398942280401432677940;

// Global constants cannot be initialised from uintBitsToFloat in GLSL, hence functions.
float math_inf() { return uintBitsToFloat(0x7f800000u); }
float math_nan() { return uintBitsToFloat(0x7fc00000u); }

// value, or x itself when x is NaN: lets derivatives of piecewise functions propagate NaN.
float propagate_nan(float x, float value) { return isnan(x) ? x : value; }

// max that propagates NaN (GLSL's max() is undefined for NaN operands).
float max_propagate_nan(float a, float b) { return (isnan(a) || a >= b) ? a : b; }

// 2^n for n in [-126, 127], assembled from the exponent bits.
float pow2i(int n) { return intBitsToFloat((n + 127) << 23); }

// v * 2^k for k in [-252, 254]; two factors keep each power of two finite (ldexp is undefined
// when its result overflows), so the product overflows to inf / underflows to 0 like IEEE.
float scale_pow2(float v, int k) {
    int half_k = k >> 1;
    return v * pow2i(half_k) * pow2i(k - half_k);
}

// e^r - 1 for |r| <= ln2 / 2: r + r^2 q(r), q a degree-4 Chebyshev fit of (e^r - 1 - r) / r^2
// (error 1.3e-7 relative to q, about 1e-8 of e^r; a truncated Taylor series needs a term more). The
// leading r is added last, so the result is accurate to ~0.5 ulp. The fits of this file that name
// scripts/fit_math_polynomials.py are recomputed by it.
float expm1_kernel(float r) {
    float r2 = r * r;
    float q = 0.5 + r * ((0.1666657776 + 0.04166655615 * r) + r2 * (0.008363173343 + 0.001392617589 * r));
    return r + r2 * q;
}

// e^x = 2^k e^r with x = k ln2 + r, |r| <= ln2 / 2 (Cody-Waite reduction, k * MATH_LN2_HI exact).
// x is first clamped to [-104, 89], where the arithmetic alone gives the IEEE limits: k = -150
// makes 2^k e^r round to 0 below ln(2^-150) = -103.97208, k = 128 makes it overflow to inf above
// ln(FLT_MAX) = 88.72284 (and the clamp keeps int(k) defined); NaN is restored at the end.
// 2^k e^r for the reduced argument r (|r| <= ln2 / 2) of math_exp and exp_neg_scaled_square.
float exp_reduced(float r, float k) {
    precise float e_r = 1.0 + expm1_kernel(r);
    return scale_pow2(e_r, int(k));
}

float math_exp(float x) {
    float xc = x > -104.0 ? (x < 89.0 ? x : 89.0) : -104.0;  // NaN -> -104
    float k = floor(xc * MATH_LOG2E + 0.5);
    precise float r = (xc - k * MATH_LN2_HI) - k * MATH_LN2_LO;
    float y = exp_reduced(r, k);
    return isnan(x) ? x : y;
}

// e^x - 1 = 2^k (expm1(r) + 1 - 2^-k): no cancellation near 0, none for k = ±1 either (k = 0
// gives e + 0 = e). Clamped like math_exp, to [-17.5, 89]: below, e^x is under half an ulp of 1.
float math_expm1(float x) {
    float xc = x > -17.5 ? (x < 89.0 ? x : 89.0) : -17.5;  // NaN -> -17.5
    float k = floor(xc * MATH_LOG2E + 0.5);
    precise float r = (xc - k * MATH_LN2_HI) - k * MATH_LN2_LO;
    float e = expm1_kernel(r);
    float one_minus_2_pow_minus_k = k > 24.0 ? 1.0 : 1.0 - pow2i(-int(k));
    float y = scale_pow2(e + one_minus_2_pow_minus_k, int(k));
    y = x < -17.5 ? -1.0 : y;
    return isnan(x) ? x : y;
}

// log(1 + f) = f - log1p_correction(f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]. With s = f / (2 + f)
// (|s| <= 0.1716), log(1 + f) = 2 atanh(s) = f - s (f - R), R = 2s^2/3 + 2s^4/5 + ... + 2s^10/11
// (error < 1e-9). The correction is at most a fifth of the result, so its rounding matters little.
float log1p_correction(float f) {
    float s = f / (2.0 + f);
    float z = s * s;
    float z2 = z * z;
    float R = z * ((2.0 / 3.0 + 2.0 / 5.0 * z) + z2 * ((2.0 / 7.0 + 2.0 / 9.0 * z) + z2 * (2.0 / 11.0)));
    return s * (f - R);
}

// log(1 + x), accurate near 0. u = fl(1 + x) = 2^k m with m in [sqrt(1/2), sqrt(2)); the rounding
// error c = (1 + x) - u is recovered exactly and added as c / u (= log(1 + c/u) to first order).
// log(1 + x) = (k ln2_hi + f) - (correction(f) - (k ln2_lo + c/u)) with f = m - 1: the large parts
// are added last, and k ln2_hi + f is exact for |k| = 1, where they nearly cancel.
float math_log1p(float x) {
    precise float u = 1.0 + x;
    uint bits = floatBitsToUint(u);
    int k = int(bits >> 23) - 127;
    float m = uintBitsToFloat((bits & 0x007fffffu) | 0x3f800000u);
    bool high = m > 1.41421356;
    m = high ? 0.5 * m : m;
    k = high ? k + 1 : k;
    // Both differences are exact (Sterbenz): u - x for u >= 2 (then x >= u/2), u - 1 below.
    precise float c = u >= 2.0 ? 1.0 - (u - x) : x - (u - 1.0);
    float f = m - 1.0;
    // k = 0: 1 + x is already in range, so the exact x goes into the correction (one division
    // shared by both cases).
    float correction = log1p_correction(k == 0 ? x : f);
    precise float small = correction - (float(k) * MATH_LN2_LO + c / u);
    precise float y = (float(k) * MATH_LN2_HI + f) - small;
    y = k == 0 ? x - correction : y;
    y = isinf(x) ? x : y;
    y = x == -1.0 ? -math_inf() : y;
    y = x < -1.0 ? math_nan() : y;
    return isnan(x) ? x : y;
}

// log(1 + x) for x in [0, 1] or NaN, for the log1p(e^-|z|) of softplus and logsigmoid: 2 atanh(s)
// with s = x / (2 + x) in [0, 1/3], i.e. 2s + 2s w R(w), w = s^2, R a degree-3 Chebyshev fit of
// (atanh(s)/s - 1)/w over [0, 1/9] (error 4e-7 relative to R, under 2e-8 of the result;
// scripts/fit_math_polynomials.py). Cheaper than math_log1p (one division, no rounding
// correction); the rounding of s costs up to ~3 ulp.
float log1p_unit(float x) {
    float s = x / (2.0 + x);
    float w = s * s;
    float r = (0.3333331943 + 0.2000378072 * w) + (w * w) * (0.1411830932 + 0.1342574954 * w);
    float two_s = 2.0 * s;
    return two_s + two_s * (w * r);
}

// tanh(x) for |x| >= 0.55 (and any NaN or inf): t / (t + 2) with t = expm1(2|x|), which cannot
// form inf / inf; tanh(9.1) rounds to 1.
float tanh_large(float x) {
    float a = abs(x);
    float t = math_expm1(2.0 * a);
    float y = a > 9.1 ? 1.0 : t / (t + 2.0);  // NaN gives t = NaN
    return x < 0.0 ? -y : y;
}

// tanh(x): for |x| < 0.55, x + x^3 P(x^2), P a degree-4 Chebyshev fit of (tanh(x)/x - 1)/x^2
// (error 1.3e-8); above, tanh_large.
float math_tanh(float x) {
    float w = x * x;
    float w2 = w * w;
    float p = (-0.3333333201 + 0.1333311373 * w) +
              w2 * ((-0.05390942883 + 0.02130938866 * w) - w2 * 0.006610227831);
    return abs(x) < 0.55 ? x + x * w * p : tanh_large(x);
}

// sigmoid(x) = 1 / (1 + e^-x) given e = e^-|x| (so that nothing overflows), for callers that
// reuse e; one division whatever the sign.
float sigmoid_given_exp(float x, float e) { return (x >= 0.0 ? 1.0 : e) / (1.0 + e); }

// sigmoid'(x) = sigmoid(x) sigmoid(-x) = e / (1 + e)^2 given e = e^-|x|: no 1 - s cancellation.
float sigmoid_grad_given_exp(float e) { return e / ((1.0 + e) * (1.0 + e)); }

float math_sigmoid(float x) { return sigmoid_given_exp(x, math_exp(-abs(x))); }

float math_sigmoid_grad(float x) { return sigmoid_grad_given_exp(math_exp(-abs(x))); }

// e^(-c x^2) for c = 1/2 or 1, with x^2 formed exactly: xh keeps the top 12 significand bits of
// x, so hi = -c xh^2 is exact and lo = -c (x - xh)(x + xh) is small. Plain e^(-c x*x) would
// inherit the rounding of x*x, amplified by c x^2 (1e-6 relative at x = 4). One exponential of
// hi + lo: k is taken from their sum and r = (hi - k ln2) + lo, so |r| <= ln2 / 2 as in math_exp.
// |x| is clamped to 15 (then |lo| < 2^-8 * 30 c) and a sum below -104 gives 0, as math_exp does.
float exp_neg_scaled_square(float x, float c) {
    float a = abs(x);
    a = a > 15.0 ? 15.0 : a;  // NaN stays NaN
    float ah = uintBitsToFloat(floatBitsToUint(a) & 0xfffff000u);
    float hi = -c * ah * ah;
    float lo = -c * (a - ah) * (a + ah);
    float sum = hi + lo;
    float sc = sum > -104.0 ? sum : -104.0;  // NaN -> -104, so that int(k) is defined
    float k = floor(sc * MATH_LOG2E + 0.5);
    precise float r = ((hi - k * MATH_LN2_HI) - k * MATH_LN2_LO) + lo;
    float y = exp_reduced(r, k);
    return sum < -104.0 ? 0.0 : y;
}

// erf(z) for |z| < 0.875: z + z Q(z^2), Q a degree-6 Chebyshev fit of erf(z)/z - 1 (error 2.1e-10).
float erf_small(float z) {
    float w = z * z;
    float w2 = w * w;
    float w4 = w2 * w2;
    float q = ((0.1283791669 - 0.3761263621 * w) + w2 * (0.1128373521 - 0.02686170583 * w)) +
              w4 * ((0.005207048911 - 0.0008214570887 * w) + w2 * 8.690368907e-5);
    return z + z * q;
}

// erfc(z) e^(z^2) for z in [0, 10.1]: t P(t) with t = 1 / (1 + z/2), P a degree-10 Chebyshev fit
// of erfc(z) e^(z^2) / t over that range, in powers of t - 1/2 (error 5e-9 relative, 2e-8 with the
// coefficients rounded to float; scripts/fit_math_polynomials.py).
float erfc_scaled(float z) {
    float t = 1.0 / (1.0 + 0.5 * z);
    float u = t - 0.5;
    float u2 = u * u;
    float u4 = u2 * u2;
    float high = ((0.1457650065 - 0.1720457226 * u) + u2 * (-0.1035560295 + 0.09797403216 * u)) +
                 u4 * ((0.05264968798 - 0.07526366413 * u) + u2 * (-0.009867570363 + 0.03262555599 * u));
    float p = 0.5107913613 + u * (0.6871607304 + u * (0.5589435697 + u * high));
    return t * p;
}

// erfc(z) for z >= 0, without the cancellation of 1 - erf(z); the product underflows to 0 by
// itself beyond z = 10.1 (e^(-z^2) < 2^-147 there).
float erfc_tail(float z) { return erfc_scaled(z) * exp_neg_scaled_square(z, 1.0); }

// erf(z): polynomial below 0.875, 1 - erfc above (erfc < 0.22 there, so its error shrinks).
float math_erf(float z) {
    float a = abs(z);
    float y = 1.0 - erfc_tail(a);
    y = z < 0.0 ? -y : y;
    return a >= 0.875 ? y : erf_small(z);  // NaN takes the polynomial
}

// erfc(z) = 1 - erf(z), relative accuracy for large positive z; for z < 0, 2 - erfc(-z) (> 1).
float math_erfc(float z) {
    float tail = erfc_tail(abs(z));
    return z < 0.0 ? 2.0 - tail : tail;  // NaN gives NaN
}

// Standard normal CDF Phi(x) = erfc(-x / sqrt2) / 2 given e = e^(-x^2/2) (exp_neg_scaled_square(x,
// 0.5), which callers needing the density as well compute once): the erfc tail on both sides,
// 1 - tail for x >= 0 (Phi >= 1/2 there, so the subtraction loses nothing). e^(-x^2/2) is formed
// from x itself, so the rounding of x / sqrt2 is not amplified by x^2.
float normal_cdf_given_exp(float x, float e) {
    float tail = 0.5 * erfc_scaled(abs(x) * MATH_SQRT1_2) * e;
    return x < 0.0 ? tail : 1.0 - tail;  // NaN gives NaN
}

float math_normal_cdf(float x) { return normal_cdf_given_exp(x, exp_neg_scaled_square(x, 0.5)); }

// Standard normal density phi(x) = e^(-x^2/2) / sqrt(2 pi).
float math_normal_pdf(float x) {
    return MATH_INV_SQRT_2PI * exp_neg_scaled_square(x, 0.5);
}

#endif  // VKGRAD_MATH_GLSL
