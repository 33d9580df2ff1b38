/// \file
/// The losses of the nn API, with PyTorch's names, defaults and reductions, behind one base class,
/// nn::Loss, that the Trainer takes. Included by vkgrad/nn.hpp.
///
/// | loss | input (rows, C) | target | PyTorch |
/// | --- | --- | --- | --- |
/// | CrossEntropyLoss | logits | class indices (rows) i32 | nn.CrossEntropyLoss |
/// | NLLLoss | log-probabilities (LogSoftmax's output) | class indices (rows) i32 | nn.NLLLoss |
/// | MSELoss, L1Loss, SmoothL1Loss | predictions | values (rows, C) f32 | nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss |
/// | BCEWithLogitsLoss | logits | values in [0, 1] (rows, C) f32 | nn.BCEWithLogitsLoss |
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "vkgrad/command.hpp"
#include "vkgrad/loss.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn {

/// What a loss compares its input with.
enum class TargetKind {
  class_indices,  ///< one i32 class index per row (DeviceDataset::labels)
  values,         ///< f32 values of the input's shape (DeviceDataset::targets)
};

/// Base class of the nn losses. forward() and backward() record into a command list given the
/// model's output (input) and the target; each loss keeps one op-level loss object per input
/// shape it has seen (their scratch and status tensors), created on first use.
///
/// Reductions as PyTorch's `reduction`: mean (the default), sum and none. forward()'s loss tensor
/// is f32 with 1 element for mean and sum; for none it holds one loss per row (class losses) or per
/// element (value losses). backward() is the gradient of forward()'s result (for none: of the sum
/// of its elements). The Trainer needs a scalar: it refuses reduction none.
class Loss {
 public:
  virtual ~Loss() = default;
  Loss(const Loss&) = delete;
  Loss& operator=(const Loss&) = delete;

  /// PyTorch's class name: "MSELoss".
  virtual std::string name() const = 0;
  /// PyTorch-style repr with the options that differ from the defaults: "MSELoss()",
  /// "SmoothL1Loss(beta=0.5)", "CrossEntropyLoss(reduction='sum', label_smoothing=0.1)".
  std::string to_string() const;
  /// Whether targets are class indices (i32) or f32 values.
  virtual TargetKind target_kind() const = 0;
  /// The reduction it applies.
  virtual Reduction reduction() const = 0;
  /// Rows whose class index equals this are ignored (class-index losses); -100 by default.
  virtual int32_t ignore_index() const { return -100; }

  /// Records the loss of input against target into loss (f32, OVERWRITTEN; 1 element for mean and
  /// sum). Throws InvalidArgument for shapes or dtypes that do not fit, before recording.
  virtual void forward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& loss) = 0;
  /// Records dinput (input's shape, OVERWRITTEN) = the gradient of forward()'s loss.
  virtual void backward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& dinput) = 0;
  /// After the recorded work ran: throws InvalidArgument naming the first invalid target the device
  /// saw (a class index outside [0, C) that is not ignore_index), for the losses that check their
  /// targets on the device (CrossEntropyLoss, NLLLoss); does nothing for the others.
  virtual void check_targets() const {}

 protected:
  Loss() = default;
  /// The arguments of to_string() that differ from PyTorch's defaults ("beta=0.5"); empty by default.
  virtual std::string extra_repr() const;
};

/// nn.CrossEntropyLoss(reduction, ignore_index, label_smoothing) over (rows, classes) logits and
/// (rows) i32 labels; keeps one vkgrad::CrossEntropyLoss per batch size.
class CrossEntropyLoss : public Loss {
 public:
  /// A loss with `options` (PyTorch's defaults: mean, ignore_index −100, no smoothing). Throws
  /// InvalidArgument for a label_smoothing outside [0, 1).
  explicit CrossEntropyLoss(Context& context, CrossEntropyOptions options = {});
  std::string name() const override { return "CrossEntropyLoss"; }
  TargetKind target_kind() const override { return TargetKind::class_indices; }
  Reduction reduction() const override { return options_.reduction; }
  int32_t ignore_index() const override { return options_.ignore_index; }
  /// Records the loss of logits (rows, classes) f32 against labels (rows) i32 into loss (f32,
  /// OVERWRITTEN), with the vkgrad::CrossEntropyLoss for that many rows (created on first use).
  void forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss) override;
  /// Records dlogits (logits' shape, OVERWRITTEN) = the gradient of the loss.
  void backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits) override;
  /// Throws InvalidArgument naming the first bad label seen by any batch size (after the run).
  void check_targets() const override;
  /// As check_targets().
  void check_labels() const { check_targets(); }
  /// The options it was created with.
  const CrossEntropyOptions& options() const { return options_; }

 protected:
  std::string extra_repr() const override;

 private:
  vkgrad::CrossEntropyLoss& for_rows(uint64_t rows);
  Context* context_;
  CrossEntropyOptions options_;
  std::map<uint64_t, vkgrad::CrossEntropyLoss> losses_;
};

/// nn.NLLLoss(reduction, ignore_index) over (rows, classes) log-probabilities (put an
/// nn::LogSoftmax last in the model) and (rows) i32 labels: row loss −input[row, label]. Keeps one
/// vkgrad::NllLoss per batch size; labels are checked on the device as CrossEntropyLoss's.
class NLLLoss : public Loss {
 public:
  /// A loss with `options` (PyTorch's defaults: mean, ignore_index −100).
  explicit NLLLoss(Context& context, NllOptions options = {});
  std::string name() const override { return "NLLLoss"; }
  TargetKind target_kind() const override { return TargetKind::class_indices; }
  Reduction reduction() const override { return options_.reduction; }
  int32_t ignore_index() const override { return options_.ignore_index; }
  /// Records the loss of log_probs (rows, classes) f32 against labels (rows) i32 (OVERWRITTEN).
  void forward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& loss) override;
  /// Records dlog_probs (OVERWRITTEN) = the gradient of the loss.
  void backward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& dlog_probs) override;
  /// Throws InvalidArgument naming the first bad label seen by any batch size (after the run).
  void check_targets() const override;
  /// The options it was created with.
  const NllOptions& options() const { return options_; }

 protected:
  std::string extra_repr() const override;

 private:
  NllLoss& for_rows(uint64_t rows);
  Context* context_;
  NllOptions options_;
  std::map<uint64_t, NllLoss> losses_;
};

/// The losses over f32 targets of the input's shape (MSELoss, L1Loss, SmoothL1Loss,
/// BCEWithLogitsLoss): one vkgrad::PointwiseLoss per input element count. NaN in the input or the
/// target propagates to the loss and the gradient.
class ElementwiseLoss : public Loss {
 public:
  TargetKind target_kind() const override { return TargetKind::values; }
  Reduction reduction() const override { return reduction_; }
  /// Records the loss of input against target (f32, same shape; OVERWRITTEN): the mean over every
  /// element, the sum, or (none) one per element.
  void forward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& loss) override;
  /// Records dinput (OVERWRITTEN) = the gradient of the loss.
  void backward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& dinput) override;
  /// The op-level kind it computes.
  PointwiseLossKind kind() const { return kind_; }

 protected:
  /// For the derived losses: `beta` is smooth_l1's (the others ignore it).
  ElementwiseLoss(Context& context, PointwiseLossKind kind, Reduction reduction, float beta = 1.0f);
  std::string extra_repr() const override;
  /// smooth_l1's beta.
  float beta() const { return beta_; }

 private:
  PointwiseLoss& for_elements(uint64_t elements);
  Context* context_;
  PointwiseLossKind kind_;
  Reduction reduction_;
  float beta_;
  std::map<uint64_t, PointwiseLoss> losses_;
};

/// nn.MSELoss(reduction): (input − target)², averaged over every element by default.
class MSELoss : public ElementwiseLoss {
 public:
  /// A loss with `reduction` (default mean).
  explicit MSELoss(Context& context, Reduction reduction = Reduction::mean);
  std::string name() const override { return "MSELoss"; }
};

/// nn.L1Loss(reduction): |input − target|; its gradient is 0 where input = target (torch.sign).
class L1Loss : public ElementwiseLoss {
 public:
  /// A loss with `reduction` (default mean).
  explicit L1Loss(Context& context, Reduction reduction = Reduction::mean);
  std::string name() const override { return "L1Loss"; }
};

/// Options of SmoothL1Loss, with PyTorch's defaults: `nn::SmoothL1Loss(ctx, {.beta = 0.5f})`.
struct SmoothL1Options {
  /// How the element losses are combined. Default: mean.
  Reduction reduction = Reduction::mean;
  /// The threshold between the quadratic and the linear piece, finite and >= 0 (else the
  /// constructor throws InvalidArgument); 0 makes it L1Loss (also its gradient, 0 at input =
  /// target, where PyTorch's smooth_l1 kernel gives −1).
  float beta = 1.0f;
};

/// nn.SmoothL1Loss(reduction, beta): |d| < β ? 0.5·d²/β : |d| − 0.5·β, d = input − target.
class SmoothL1Loss : public ElementwiseLoss {
 public:
  /// A loss with `options` (default: mean, beta 1).
  explicit SmoothL1Loss(Context& context, SmoothL1Options options = {});
  std::string name() const override { return "SmoothL1Loss"; }
  /// The threshold β.
  float beta() const { return ElementwiseLoss::beta(); }
};

/// nn.BCEWithLogitsLoss(reduction): max(x, 0) − x·t + log(1 + e^−|x|) per element of logits x and
/// targets t in [0, 1] (multi-label classification), computed stably. No weight or pos_weight.
class BCEWithLogitsLoss : public ElementwiseLoss {
 public:
  /// A loss with `reduction` (default mean).
  explicit BCEWithLogitsLoss(Context& context, Reduction reduction = Reduction::mean);
  std::string name() const override { return "BCEWithLogitsLoss"; }
};

}  // namespace vkgrad::nn
