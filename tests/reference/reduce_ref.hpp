// CPU references for the softmax family: plain double loops, the specification the shaders are
// checked against (tests/reduce_test.cpp) and that is itself checked against finite differences
// (tests/reference/reduce_ref_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkgrad::ref {

// x is (N, C), y is (N, C). y = softmax(x) row-wise (log = false) or log_softmax(x) (log = true).
// A row with NaN, +inf, or only -inf entries is all NaN (PyTorch's result).
void softmax_forward(const double* x, double* y, std::size_t N, std::size_t C, bool log);

// y, dy, dx are (N, C); y is the forward output. softmax: dx = y (dy - Σ dy y);
// log_softmax: dx = dy - e^y Σ dy. dx is overwritten.
void softmax_backward(const double* y, const double* dy, double* dx, std::size_t N, std::size_t C, bool log);

// op: 0 sum, 1 mean, 2 max (NaN is the maximum when present).
// x is (N, C); returns (N): op over each row.
std::vector<double> reduce_rows(const double* x, std::size_t N, std::size_t C, int op);
// x is (N, C); returns (C): op over each column.
std::vector<double> reduce_columns(const double* x, std::size_t N, std::size_t C, int op);
// x is (n); op over all of it.
double reduce_all(const double* x, std::size_t n, int op);
// x is (n); Σ x².
double squared_l2_norm(const double* x, std::size_t n);
// x is (N, C); returns (N): first index of each row's maximum, NaN counting as the maximum.
std::vector<int32_t> argmax_rows(const double* x, std::size_t N, std::size_t C);

}  // namespace vkgrad::ref
