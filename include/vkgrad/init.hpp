/// \file
/// Parameter initializers with torch.nn.init's names, formulas and defaults, run on the device from
/// a seeded counter-based generator (Philox4x32-10 keyed by the seed, counter = element index):
/// the same seed gives the same tensor on every replay, any grid size and any device (up to the
/// driver's rounding of log/cos for the normal variants). Every initializer OVERWRITES the tensor.
#pragma once

#include <cstdint>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// The nonlinearities of torch.nn.init.calculate_gain.
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu, selu };

/// torch.nn.init.calculate_gain: linear, sigmoid → 1; tanh → 5/3; relu → √2;
/// leaky_relu(negative_slope = param) → √(2 / (1 + slope²)); selu → 3/4.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// The fans of a weight tensor (calculate_fans).
struct Fans {
  /// fan_in = in·Πk (the inputs feeding one output unit), fan_out = out·Πk, for a shape
  /// (out, in, k...).
  ///@{
  uint64_t fan_in = 0, fan_out = 0;
  ///@}
};
/// fan_in and fan_out of a weight, as torch.nn.init._calculate_fan_in_and_fan_out: for a shape
/// (out, in, k...) fan_in = in·Πk, fan_out = out·Πk (a 2-D Linear weight (out × in): in, out).
/// Throws InvalidArgument for fewer than 2 dimensions.
Fans calculate_fans(const Shape& shape);

/// Which fan the kaiming initializers scale by, as their `mode` argument in PyTorch: fan_in keeps
/// the forward pass's variance, fan_out the backward pass's.
enum class FanMode { fan_in, fan_out };

/// Records: every element = value (f32 tensors, else InvalidArgument).
void init_constant(CommandList& cmd, Tensor& tensor, float value);
/// init_constant with value 0.
void init_zeros(CommandList& cmd, Tensor& tensor);
/// init_constant with value 1.
void init_ones(CommandList& cmd, Tensor& tensor);

/// Records: uniform samples in [a, b] (a + (b − a)·u with 24-bit u in [0, 1), clamped so rounding
/// never leaves [a, b]). Requires a <= b, else InvalidArgument.
void init_uniform(CommandList& cmd, Tensor& tensor, float a, float b, uint64_t seed);
/// Records: normal samples mean + std·z (Box–Muller; |z| <= 5.77 by construction). Requires
/// std >= 0, else InvalidArgument.
void init_normal(CommandList& cmd, Tensor& tensor, float mean, float std, uint64_t seed);

/// xavier_uniform_: U(−bound, bound), bound = gain·√(6 / (fan_in + fan_out)). tensor: rank >= 2.
void init_xavier_uniform(CommandList& cmd, Tensor& tensor, uint64_t seed, double gain = 1.0);
/// xavier_normal_: N(0, std²), std = gain·√(2 / (fan_in + fan_out)). tensor: rank >= 2.
void init_xavier_normal(CommandList& cmd, Tensor& tensor, uint64_t seed, double gain = 1.0);

/// kaiming_uniform_: U(−bound, bound), bound = √3 · gain / √fan, gain = calculate_gain(nonlinearity,
/// a), fan by `mode`. PyTorch's defaults: a = 0, fan_in, leaky_relu. tensor: rank >= 2.
void init_kaiming_uniform(CommandList& cmd, Tensor& tensor, uint64_t seed, double a = 0, FanMode mode = FanMode::fan_in,
                          Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
/// kaiming_normal_: N(0, std²), std = gain / √fan (as kaiming_uniform). tensor: rank >= 2.
void init_kaiming_normal(CommandList& cmd, Tensor& tensor, uint64_t seed, double a = 0, FanMode mode = FanMode::fan_in,
                         Nonlinearity nonlinearity = Nonlinearity::leaky_relu);

/// The bound init_xavier_uniform samples in: gain·√(6 / (fan_in + fan_out)).
double xavier_uniform_bound(const Shape& shape, double gain = 1.0);
/// The standard deviation of init_kaiming_normal (init_kaiming_uniform's bound is √3 times it).
double kaiming_std(const Shape& shape, double a = 0, FanMode mode = FanMode::fan_in,
                   Nonlinearity nonlinearity = Nonlinearity::leaky_relu);

}  // namespace vkgrad
