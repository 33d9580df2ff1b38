#!/usr/bin/python3
"""Recomputes the coefficients of three polynomial fits in shaders/math.glsl.

Each is a Chebyshev interpolant (close to the minimax polynomial) of a smooth function over the
interval the shader evaluates it on, converted to powers of (t - t0) and rounded to float32, as
the shader writes them (printed highest power first; the shader combines them in Estrin's
scheme). Prints, per fit, the truncation error in double and the error after rounding the
coefficients to float32 (evaluated in double), both relative to the fitted function. The end-to-end error of each math.glsl function, float32 rounding
included, is measured by tests/math_accuracy (`build/tests/math_glsl_accuracy 1`).

Usage: python3 scripts/fit_math_polynomials.py   (needs NumPy: Debian python3-numpy)
"""
import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial


def fit(f, a, b, degree, t0=0.0):
    """Coefficients c_i (lowest first) with f(t) ~ sum c_i (t - t0)^i on [a, b]."""
    cheb = chebyshev.chebinterpolate(lambda u: f((u + 1) / 2 * (b - a) + a), degree)
    in_u = chebyshev.cheb2poly(cheb)
    lin = np.array([(2 * t0 - a - b) / (b - a), 2 / (b - a)])  # u as a polynomial in t - t0
    out, power = np.zeros(1), np.array([1.0])
    for c in in_u:
        out = polynomial.polyadd(out, c * power)
        power = polynomial.polymul(power, lin)
    return out


def report(name, f, a, b, degree, t0=0.0):
    coefs = fit(f, a, b, degree, t0)
    t = np.linspace(a, b, 200001)
    want = f(t)
    err = np.max(np.abs(polynomial.polyval(t - t0, coefs) - want) / np.abs(want))
    c32 = np.array([np.float32(c) for c in coefs], dtype=np.float64)
    err32 = np.max(np.abs(polynomial.polyval(t - t0, c32) - want) / np.abs(want))
    print(f"{name}: degree {degree} on [{a:.6g}, {b:.6g}] in powers of (t - {t0:g}); "
          f"relative error {err:.2e} (float32 coefficients: {err32:.2e})")
    for c in coefs[::-1]:
        print(f"    {np.float32(c):.10g}")


def expm1_q(r):
    """(e^r - 1 - r) / r^2, with its series near 0."""
    r = np.asarray(r, dtype=np.float64)
    safe = np.where(np.abs(r) < 1e-4, 1.0, r)
    return np.where(np.abs(r) < 1e-4, 0.5 + r / 6 + r * r / 24 + r**3 / 120,
                    (np.expm1(safe) - safe) / (safe * safe))


def atanh_r(w):
    """(atanh(s) / s - 1) / w with s = sqrt(w), with its series near 0."""
    w = np.asarray(w, dtype=np.float64)
    safe = np.where(w < 1e-6, 0.01, w)
    s = np.sqrt(safe)
    return np.where(w < 1e-6, 1 / 3 + w / 5 + w * w / 7, (np.arctanh(s) / s - 1) / safe)


def erfcx_over_t(t):
    """erfc(z) e^(z^2) / t with t = 1 / (1 + z/2)."""
    return np.array([math.erfc(2 * (1 / ti - 1)) * math.exp((2 * (1 / ti - 1)) ** 2) / ti
                     for ti in np.atleast_1d(t)])


if __name__ == "__main__":
    half_ln2 = math.log(2) / 2
    report("expm1_kernel q(r)", expm1_q, -half_ln2, half_ln2, 4)
    report("log1p_unit R(w)", atanh_r, 0.0, 1 / 9, 3)
    report("erfc_scaled P(t)", erfcx_over_t, 1 / (1 + 10.1 / 2), 1.0, 10, 0.5)
