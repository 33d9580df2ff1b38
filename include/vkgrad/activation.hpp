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

/// Every activation of the table vkgrad/activations.def, one enumerator per row. Each is named as its
/// torch.nn.functional counterpart (gelu_tanh is gelu(approximate='tanh'); identity is no
/// activation), with the same parameters and defaults (ActivationInfo). The numeric value is the
/// row's id, the shaders' ACT_ID.
enum class Activation : uint32_t {
#define VKGRAD_ACTIVATION(name, id, p0, d0, p1, d1, fr, fa, br, ba) name = id,
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
};

/// One row of the activation table.
struct ActivationInfo {
  /// The activation this row describes.
  Activation kind;
  const char* name;            ///< "leaky_relu"
  uint32_t param_count;        ///< 0, 1 or 2
  const char* param_names[2];  ///< PyTorch argument names ("negative_slope"); "none" when unused
  float param_defaults[2];     ///< PyTorch defaults
  /// Conformance tolerances of the f32 result against a double reference, |gpu − ref| <= atol +
  /// rtol·|ref|: for y (forward) and for dx (backward). The test suite checks every row with them.
  ///@{
  double forward_rtol, forward_atol, backward_rtol, backward_atol;  ///< conformance tolerances
  ///@}
};

/// All rows, in table order (index == static_cast<uint32_t>(kind)).
std::span<const ActivationInfo> activations();
/// The table row of `kind`. Throws InvalidArgument for a value outside the table.
const ActivationInfo& activation_info(Activation kind);
/// Looks an activation up by its name ("gelu_tanh"); nullopt when unknown.
std::optional<Activation> activation_from_name(std::string_view name);

/// An activation with its parameters, optionally wrapped in the sparse threshold
/// y = x > theta ? f(x) : 0 (backward: x > theta ? f'(x)·dy : 0; NaN inputs still give NaN).
struct ActivationSpec {
  /// The activation. Default: identity.
  Activation kind = Activation::identity;
  /// Its parameters in table order (params[i] is ActivationInfo::param_names[i]); entries beyond
  /// the activation's param_count are ignored.
  float params[2] = {0, 0};
  /// Wrap the activation in the sparse threshold at `theta`. Default: no.
  bool sparse = false;
  /// The sparse threshold θ; read only when `sparse`.
  float theta = 0;

  /// identity, not sparse.
  ActivationSpec() = default;
  /// The activation with PyTorch's default parameters. Throws InvalidArgument for a value outside
  /// the table.
  ActivationSpec(Activation a);  // NOLINT(google-explicit-constructor): relu == spec, on purpose
  /// The activation with its parameters given in table order (p1 is ignored by one-parameter
  /// activations, both by parameterless ones). Throws InvalidArgument for a value outside the table.
  ActivationSpec(Activation a, float p0, float p1 = 0);
  /// Sets a parameter by its PyTorch name ("negative_slope") and returns *this; throws
  /// InvalidArgument naming the valid ones when the activation has no such parameter.
  ActivationSpec& set(std::string_view param_name, float value);
  /// Wraps this activation in the sparse threshold at `theta_value` and returns *this.
  ActivationSpec& sparse_threshold(float theta_value) {
    sparse = true;
    theta = theta_value;
    return *this;
  }
  /// The spec as text: "relu", "leaky_relu(negative_slope=0.01)", "sparse(relu, theta=0.5)".
  std::string to_string() const;
};

/// Records y = f(x). x and y: f32, same element count (shapes may differ only in how they view the
/// same count); y may be x (in place).
void activation_forward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, Tensor& y);

/// Records dx = f'(x) · dy (overwrites dx). Reads x, not y: one read less than a y-based form, and
/// the derivative is recomputed in registers. dx may alias dy.
void activation_backward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, const Tensor& dy, Tensor& dx);

/// Records y = x > 0 ? x : weight[c]·x, PReLU with a learnable slope (PyTorch nn.PReLU). All f32;
/// weight has 1 element (shared) or one per channel, where the channel c is dimension 1 of x (x of
/// rank >= 2; for rank 1 only a shared slope), else InvalidArgument. y has x's element count and is
/// OVERWRITTEN.
void prelu_forward(CommandList& cmd, const Tensor& x, const Tensor& weight, Tensor& y);

/// Records dx = prelu'(x)·dy, and dweight = Σ over each channel's elements of (x > 0 ? 0 : x)·dy
/// (a deterministic per-channel reduction). Shapes as prelu_forward; dx has x's element count,
/// dweight weight's. Both are overwritten, not accumulated.
void prelu_backward(CommandList& cmd, const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor& dx,
                    Tensor& dweight);

}  // namespace vkgrad
