// CPU references for the softmax family: plain double loops, the specification the shaders are
// checked against (tests/reduce_test.cpp) and that is itself checked against finite differences
// (tests/reference/reduce_ref_test.cpp).
#pragma once

#include <cstddef>

namespace vkgrad::ref {

// x is (N, C), y is (N, C). y = softmax(x) row-wise (log = false) or log_softmax(x) (log = true).
// A row with NaN, +inf, or only -inf entries is all NaN (PyTorch's result).
void softmax_forward(const double* x, double* y, std::size_t N, std::size_t C, bool log);

// y, dy, dx are (N, C); y is the forward output. softmax: dx = y (dy - Σ dy y);
// log_softmax: dx = dy - e^y Σ dy. dx is overwritten.
void softmax_backward(const double* y, const double* dy, double* dx, std::size_t N, std::size_t C, bool log);

}  // namespace vkgrad::ref
