// activation_ref.hpp — double-precision CPU reference of every activation in
// include/vkgrad/activations.def: the specification the shaders are tested against.
//
// For each table row `name` there is a pair
//     double <name>_forward(double x, double p0, double p1);   // f(x)
//     double <name>_grad(double x, double p0, double p1);      // f'(x) = dy/dx
// where p0 / p1 are the row's parameters (unused ones are ignored). Conventions, as in the shaders:
// derivatives at kinks follow PyTorch, NaN in gives NaN out (forward and derivative), ±inf gives
// the mathematical limit.
//
// The functions take the activation's plain uint32 id (the table's id column) so this file does not
// depend on the public enum.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vkgrad::ref {

#define VKGRAD_ACTIVATION(name, row_id, p0n, p0d, p1n, p1d, fr, fa, br, ba) \
  double name##_forward(double x, double p0, double p1);                    \
  double name##_grad(double x, double p0, double p1);
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION

// f(x) of the activation with the given id; NaN for an unknown id.
double activation_forward(uint32_t id, double x, double p0, double p1);
// f'(x) of the activation with the given id; NaN for an unknown id.
double activation_grad(uint32_t id, double x, double p0, double p1);
// The table's name of the activation ("leaky_relu"); nullptr for an unknown id.
const char* activation_name(uint32_t id);
// Number of rows in the table; ids are 0 .. activation_count() - 1.
uint32_t activation_count();

// Slope gradient of nn.PReLU: x and dy are (outer, channels, inner) flattened, n elements in all
// (a multiple of channels * inner). Overwrites dw[0 .. channels):
//     dw[c] = sum over elements i of channel c of (x[i] > 0 ? 0 : x[i]) * dy[i].
void prelu_weight_grad(const float* x, const float* dy, size_t n, size_t channels, size_t inner, double* dw);

}  // namespace vkgrad::ref
