/// \file
/// Optimizers (SGD, Adam, AdamW), global-norm gradient clipping and penalty gradients, with PyTorch's semantics and
/// update order. Every update is recorded into a CommandList and runs entirely on the device, so a
/// recorded training step can be replayed any number of times.
///
/// The step count. Adam's bias correction and SGD's first-step momentum initialisation depend on the
/// step number t, which must change between replays of one recorded list. So t is not a push
/// constant: it lives in a one-element i32 device tensor (the "step counter", initially 0) that
/// `optimizer_advance_step` increments on the device, once per optimizer step, before the parameter
/// updates read it. One counter serves every parameter of an optimizer (PyTorch's per-parameter
/// state['step'] counts the same steps). The update shaders only read it; a separate one-thread
/// dispatch writes it, because a shader cannot safely read and increment a value that other
/// workgroups of the same dispatch are still reading.
///
/// Optimizer state (momentum buffer, exp_avg, exp_avg_sq): the free functions sgd_update /
/// adam_update take it as SgdState / AdamState (zero-filled, the parameter's shape) owned by the
/// caller; the Sgd / Adam classes own the counter and one state per parameter for you. Parameters
/// are updated in place; gradients are only read. Not provided: amsgrad, maximize, Adam's
/// capturable/differentiable flags (the update is always on the device anyway).
///
/// Also here: L1/L2 weight penalties and the L1 activity penalty, added to an existing gradient.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// torch.optim.SGD options (PyTorch defaults; lr has no default there, 1e-3 here).
struct SgdOptions {
  float lr = 1e-3f;        ///< learning rate
  float momentum = 0;      ///< momentum factor; 0 = plain SGD (no buffer is read or written)
  float dampening = 0;     ///< the new gradient enters the buffer scaled by 1 − dampening
  bool nesterov = false;   ///< requires momentum > 0 and dampening == 0 (as in PyTorch)
  float weight_decay = 0;  ///< L2 coefficient added to the gradient: d = g + wd·p
};

/// torch.optim.Adam / AdamW options. `decoupled` false = Adam (wd·p is added to the gradient);
/// true = AdamW (p is first multiplied by 1 − lr·wd). Use adamw_options() for AdamW's defaults.
struct AdamOptions {
  float lr = 1e-3f;        ///< learning rate
  float beta1 = 0.9f;      ///< decay of the gradient average, in [0, 1)
  float beta2 = 0.999f;    ///< decay of the squared-gradient average, in [0, 1)
  float eps = 1e-8f;       ///< added to sqrt(v̂) in the denominator
  float weight_decay = 0;  ///< Adam: added to the gradient; AdamW: decoupled decay of p
  bool decoupled = false;  ///< false: Adam; true: AdamW
};
/// AdamW's defaults: as Adam but decoupled, weight_decay = 0.01.
inline AdamOptions adamw_options() {
  AdamOptions o;
  o.decoupled = true;
  o.weight_decay = 0.01f;
  return o;
}

/// A new step counter: i32 tensor of shape [1] holding 0 (no step taken yet). To restart an
/// optimizer, zero its state tensors and fill(0) the counter.
Tensor make_step_counter(Context& context);

/// Records: step[0] += 1. Record it once per optimizer step, BEFORE that step's sgd_update /
/// adam_update calls (they then see t = the new value, t >= 1 on the first step). An update that
/// reads a counter still at 0 gives Adam a zero bias correction (inf/NaN parameters).
void optimizer_advance_step(CommandList& cmd, Tensor& step);

/// SGD state of one parameter: the momentum buffer (f32, the parameter's shape, zero-filled; only
/// used when momentum != 0).
struct SgdState {
  /// PyTorch's state['momentum_buffer']; f32, the parameter's shape.
  Tensor momentum_buffer;
  /// Allocates the buffer in param's shape and zero-fills it (synchronously, as Tensor::fill).
  SgdState(Context& context, const Tensor& param);
};

/// Adam/AdamW state of one parameter: exp_avg and exp_avg_sq (f32, the parameter's shape, zeros).
struct AdamState {
  /// m, the running average of the gradient (PyTorch's state['exp_avg']).
  Tensor exp_avg;
  /// v, the running average of the squared gradient (PyTorch's state['exp_avg_sq']).
  Tensor exp_avg_sq;
  /// Allocates both in param's shape and zero-fills them (synchronously, as Tensor::fill).
  AdamState(Context& context, const Tensor& param);
};

/// Records one SGD update of `param` in place (one dispatch), exactly PyTorch's order:
///   d = grad + weight_decay·param
///   if momentum != 0: buf = (t == 1) ? d : momentum·buf + (1 − dampening)·d
///                     d = nesterov ? d + momentum·buf : buf
///   param -= lr·d
/// param, grad, state.momentum_buffer: f32, same element count. step: the i32 [1] step counter,
/// already advanced for this step (t >= 1). grad is read only; momentum_buffer is updated.
void sgd_update(CommandList& cmd, const SgdOptions& options, Tensor& param, const Tensor& grad, SgdState& state,
                const Tensor& step);

/// Records one Adam (options.decoupled = false) or AdamW (true) update of `param` in place (one
/// dispatch), PyTorch's order, t = step[0] >= 1:
///   Adam:  g = grad + wd·param            AdamW: param *= 1 − lr·wd; g = grad
///   m = m + (g − m)·(1 − beta1);  v = beta2·v + (1 − beta2)·g²
///   param -= lr / (1 − beta1^t) · m / (sqrt(v) / sqrt(1 − beta2^t) + eps)
/// The bias corrections 1 − beta^t are computed on the device as −expm1(t·log1p(−(1 − beta))),
/// accurate to a few ulp for every t (1 − beta^t itself would cancel catastrophically for small t).
/// param, grad, exp_avg, exp_avg_sq: f32, same element count.
void adam_update(CommandList& cmd, const AdamOptions& options, Tensor& param, const Tensor& grad, AdamState& state,
                 const Tensor& step);

/// A parameter, its gradient and optionally its pruning mask, held by pointer: the tensors must stay
/// where they are (not be moved or destroyed) for as long as the optimizer records steps with them.
struct ParamRef {
  /// The parameter, updated in place (f32).
  Tensor* param;
  /// Its gradient (f32, same element count), only read.
  const Tensor* grad;
  /// Its mask (f32, same element count, 1 = kept, 0 = pruned; see mask_apply), or null: unmasked.
  /// Looked at when a step is RECORDED: an empty tensor then records an unmasked step, a non-empty
  /// one records mask_apply after the update, setting the parameter and its state (momentum buffer;
  /// exp_avg, exp_avg_sq) to +0 where the mask is 0. Its values are read when the step runs, so a
  /// recorded step follows later uploads to the same tensor; a mask tensor replaced or made empty
  /// needs the step recorded again.
  const Tensor* mask = nullptr;
};

/// torch.optim.SGD over a list of parameters: owns the step counter and one SgdState per
/// parameter. record_step() records optimizer_advance_step then one sgd_update per parameter, so
/// a list recorded once takes a new step each time it is submitted.
class Sgd {
 public:
  /// Creates the step counter (0) and a zeroed SgdState per parameter. Throws InvalidArgument for
  /// a null param or grad pointer.
  Sgd(Context& context, std::vector<ParamRef> params, SgdOptions options = {});
  /// Records one step: optimizer_advance_step, then sgd_update of every parameter in order, each
  /// followed by mask_apply on the parameter and its momentum buffer where its ParamRef::mask is set
  /// and non-empty. The options are checked here (InvalidArgument, e.g. nesterov without momentum;
  /// a mask of another element count or dtype).
  void record_step(CommandList& cmd);
  /// The options it was created with.
  const SgdOptions& options() const { return options_; }
  const Tensor& step_count() const { return step_; }  ///< i32 [1]: steps taken
  /// The state of parameter i (in the order given); std::out_of_range for i >= the count.
  SgdState& state(std::size_t i) { return states_.at(i); }

 private:
  std::vector<ParamRef> params_;
  SgdOptions options_;
  Tensor step_;
  std::vector<SgdState> states_;
};

/// torch.optim.Adam / AdamW (options.decoupled) over a list of parameters; as Sgd.
class Adam {
 public:
  /// Creates the step counter (0) and a zeroed AdamState per parameter. Throws InvalidArgument for
  /// a null param or grad pointer.
  Adam(Context& context, std::vector<ParamRef> params, AdamOptions options = {});
  /// Records one step: optimizer_advance_step, then adam_update of every parameter in order, each
  /// followed by mask_apply on the parameter, exp_avg and exp_avg_sq where its ParamRef::mask is
  /// set and non-empty. The options are checked here (InvalidArgument for betas outside [0, 1); a
  /// mask of another element count or dtype).
  void record_step(CommandList& cmd);
  /// The options it was created with.
  const AdamOptions& options() const { return options_; }
  /// The i32 [1] step counter: steps taken.
  const Tensor& step_count() const { return step_; }
  /// The state of parameter i (in the order given); std::out_of_range for i >= the count.
  AdamState& state(std::size_t i) { return states_.at(i); }

 private:
  std::vector<ParamRef> params_;
  AdamOptions options_;
  Tensor step_;
  std::vector<AdamState> states_;
};

/// Elements of the f32 workspace clip_grad_norm needs for these gradients.
uint64_t clip_grad_norm_workspace_size(const CommandList& cmd, std::span<Tensor* const> grads);

/// Records torch.nn.utils.clip_grad_norm_(grads, max_norm) (2-norm), entirely on the device:
///   total = sqrt(Σ over all tensors and elements of g²)
///   every g *= min(1, max_norm / (total + 1e-6))     (so nothing changes when total <= max_norm)
/// total_norm (f32 [1]) receives the norm BEFORE clipping (PyTorch's return value). Non-finite
/// gradients behave as in PyTorch with error_if_nonfinite=False: a NaN makes the total and every
/// gradient NaN; an inf makes the total inf and the coefficient 0 (finite elements become 0, the
/// inf ones NaN). No gradients at all: total_norm = 0 and nothing else (as PyTorch).
/// workspace: f32 with >= clip_grad_norm_workspace_size(cmd, grads) elements (per-workgroup
/// partial sums). Deterministic: a fixed reduction order, no atomics. Dispatches: one per gradient
/// (squared-norm partials), one for the total, one per gradient (scaling).
void clip_grad_norm(CommandList& cmd, std::span<Tensor* const> grads, float max_norm, Tensor& total_norm,
                    Tensor& workspace);

// --- Regularizers: penalty gradients ADDED to an existing gradient (hence "accumulate"). ---

/// Records grad += lambda·sign(weight), the gradient of lambda·Σ|w| (sign(0) = sign(−0) = 0; a NaN
/// weight gives a NaN gradient). weight, grad: f32, same element count.
void l1_penalty_accumulate(CommandList& cmd, const Tensor& weight, Tensor& grad, float lambda);
/// Records grad += lambda·weight, the gradient of (lambda/2)·Σ w². weight, grad: f32, same count.
void l2_penalty_accumulate(CommandList& cmd, const Tensor& weight, Tensor& grad, float lambda);
/// Records dy += lambda·sign(y), the gradient of the L1 activity penalty lambda·Σ|y| on an
/// activation y (any shape) with incoming gradient dy (same element count).
void l1_activity_penalty_accumulate(CommandList& cmd, const Tensor& y, Tensor& dy, float lambda);

}  // namespace vkgrad
