/// \file
/// Elementwise activations, forward and backward, with PyTorch's names, parameters and defaults.
/// The list lives in one table, vkgrad/activations.def, shared with the GLSL shaders and the tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Every activation of the table. The numeric value is the shaders' ACT_ID.
enum class Activation : uint32_t {
#define VKGRAD_ACTIVATION(name, id, p0, d0, p1, d1, fr, fa, br, ba) name = id,
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
};

/// One row of the activation table.
struct ActivationInfo {
  Activation kind;
  const char* name;      ///< "leaky_relu"
  uint32_t param_count;  ///< 0, 1 or 2
  const char* param_names[2];  ///< PyTorch argument names ("negative_slope"); "none" when unused
  float param_defaults[2];     ///< PyTorch defaults
  double forward_rtol, forward_atol, backward_rtol, backward_atol;  ///< conformance tolerances
};

/// All rows, in table order (index == static_cast<uint32_t>(kind)).
std::span<const ActivationInfo> activations();
const ActivationInfo& activation_info(Activation kind);
/// Looks an activation up by its name ("gelu_tanh"); nullopt when unknown.
std::optional<Activation> activation_from_name(std::string_view name);

/// An activation with its parameters, optionally wrapped in the sparse threshold
/// y = x > theta ? f(x) : 0 (backward: x > theta ? f'(x)·dy : 0; NaN inputs still give NaN).
struct ActivationSpec {
  Activation kind = Activation::identity;
  float params[2] = {0, 0};
  bool sparse = false;
  float theta = 0;

  ActivationSpec() = default;
  /// The activation with PyTorch's default parameters.
  ActivationSpec(Activation a);  // NOLINT(google-explicit-constructor): relu == spec, on purpose
  ActivationSpec(Activation a, float p0, float p1 = 0);
  /// Sets a parameter by its PyTorch name; throws InvalidArgument naming the valid ones.
  ActivationSpec& set(std::string_view param_name, float value);
  /// Wraps this activation in the sparse threshold at `theta`.
  ActivationSpec& sparse_threshold(float theta_value) { sparse = true; theta = theta_value; return *this; }
  /// "leaky_relu(negative_slope=0.01)", "sparse(relu, theta=0.5)"
  std::string to_string() const;
};

/// Records y = f(x). x and y: f32, same element count (shapes may differ only in how they view the
/// same count); y may be x (in place).
void activation_forward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, Tensor& y);

/// Records dx = f'(x) · dy (overwrites dx). Reads x, not y: one read less than a y-based form, and
/// the derivative is recomputed in registers. dx may alias dy.
void activation_backward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, const Tensor& dy, Tensor& dx);

/// PReLU with a learnable slope (PyTorch nn.PReLU): weight has 1 element (shared) or one per channel,
/// where the channel is dimension 1 of x (x of rank >= 2; for rank 1 only a shared slope).
void prelu_forward(CommandList& cmd, const Tensor& x, const Tensor& weight, Tensor& y);

/// dx = prelu'(x)·dy, and dweight = Σ over each channel's elements of (x > 0 ? 0 : x)·dy.
/// Both are overwritten, not accumulated.
void prelu_backward(CommandList& cmd, const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor& dx,
                    Tensor& dweight);

}  // namespace vkgrad
