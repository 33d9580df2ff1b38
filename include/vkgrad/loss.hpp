/// \file
/// Losses. Cross-entropy from logits with integer labels (PyTorch semantics), fused and numerically
/// stable, with device-side label validation reported through a small status tensor; NLL; and the
/// element-wise losses MSE, BCE with logits, L1 and smooth L1.
#pragma once

#include <cstdint>

#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// How per-row losses are combined, as PyTorch's `reduction` argument.
enum class Reduction : uint32_t {
  none,  ///< one loss per row
  mean,  ///< sum over rows / number of rows whose label is not ignore_index (NaN if there are none)
  sum,   ///< sum over rows
};

/// torch.nn.functional.cross_entropy's options, with its defaults. Setters chain:
/// `CrossEntropyOptions{}.set_label_smoothing(0.1f)`.
struct CrossEntropyOptions {
  /// How the row losses are combined. Default: mean.
  Reduction reduction = Reduction::mean;
  /// Rows with this label contribute 0 to the loss and get a zero gradient; mean divides by the rows
  /// that are not ignored.
  int32_t ignore_index = -100;
  /// ε in [0, 1) (else CrossEntropyLoss's constructor throws InvalidArgument): the target is
  /// (1 − ε)·onehot + ε/C.
  float label_smoothing = 0.0f;

  /// Set the field of the same name and return *this, for chaining.
  ///@{
  CrossEntropyOptions& set_reduction(Reduction r) {
    reduction = r;
    return *this;
  }
  CrossEntropyOptions& set_ignore_index(int32_t i) {
    ignore_index = i;
    return *this;
  }
  CrossEntropyOptions& set_label_smoothing(float e) {
    label_smoothing = e;
    return *this;
  }
  ///@}
};

/// Cross-entropy of logits (N, C) f32 against labels (N) i32, as
/// torch.nn.functional.cross_entropy(logits, labels, reduction, ignore_index, label_smoothing).
///
/// The object owns the device scratch it needs (N per-row losses) and the label status tensor, so
/// create one per batch size and reuse it every step. Move-only.
///
/// Out-of-range labels (neither ignore_index nor in [0, C)) cannot throw while the GPU runs: their
/// rows give a NaN loss and a NaN gradient row, and forward() and backward() record a device-side
/// check into status(). After the command list has run, call check_labels() to throw
/// InvalidArgument naming the first bad row and its label.
class CrossEntropyLoss {
 public:
  /// A loss for batches of exactly `rows` rows (>= 1). Throws InvalidArgument for rows = 0 or a
  /// label_smoothing outside [0, 1).
  CrossEntropyLoss(Context& context, uint64_t rows, CrossEntropyOptions options = {});

  /// Records loss = cross_entropy(logits, labels). loss is f32 with 1 element for mean / sum and N
  /// elements for none; it is OVERWRITTEN. Also writes status(). The reduction over rows is
  /// deterministic (a per-row pass, then one workgroup summing the N row losses in a fixed order).
  void forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss);

  /// Records dlogits = (softmax(logits) − (1 − ε)·onehot(label) − ε/C) · scale · dloss, the
  /// gradient of forward()'s loss (for reduction none: of the sum of the row losses, each row's
  /// upstream gradient being dloss). scale = 1 / (non-ignored rows) for mean, else 1. Ignored rows
  /// get 0. dlogits (N, C) f32 is OVERWRITTEN (not accumulated into) and must not alias logits.
  /// Independent of forward(): it recomputes the row maxima and sums. Also writes status().
  void backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits, float dloss = 1.0f);

  /// i32 tensor of 4 elements, written on the device by forward() and backward():
  /// [first row with an out-of-range label or −1, that label, rows not ignored, C].
  const Tensor& status() const { return status_; }

  /// Downloads status() (waiting for submitted work) and throws InvalidArgument naming the first row
  /// whose label was out of range, e.g. "vkgrad: loss label check: row 3 has label 12, outside [0, 10)
  /// and not ignore_index -100". Does nothing when all labels were valid.
  void check_labels() const;

  /// The batch size N this loss was created for.
  uint64_t rows() const { return rows_; }
  /// The options it was created with.
  const CrossEntropyOptions& options() const { return options_; }

 private:
  uint64_t rows_;
  CrossEntropyOptions options_;
  Tensor row_loss_;
  Tensor status_;
};

/// The check behind CrossEntropyLoss::check_labels() and NllLoss::check_labels(), for a status
/// tensor in their layout: downloads it (waiting for submitted work) and throws InvalidArgument
/// naming the first bad row, or for a tensor that is not i32 with 4 elements.
void check_label_status(const Tensor& status, int32_t ignore_index);

/// torch.nn.functional.nll_loss's options, with its defaults.
struct NllOptions {
  /// How the row losses are combined. Default: mean.
  Reduction reduction = Reduction::mean;
  int32_t ignore_index = -100;  ///< as CrossEntropyOptions::ignore_index
  /// Set the field of the same name and return *this, for chaining.
  ///@{
  NllOptions& set_reduction(Reduction r) {
    reduction = r;
    return *this;
  }
  NllOptions& set_ignore_index(int32_t i) {
    ignore_index = i;
    return *this;
  }
  ///@}
};

/// Negative log-likelihood of log-probabilities (N, C) f32 (e.g. log_softmax_forward's output)
/// against labels (N) i32, as torch.nn.functional.nll_loss(log_probs, labels, reduction,
/// ignore_index): row loss −log_probs[r, label]. Owns its scratch and status tensor, validates labels
/// on the device and reports them exactly as CrossEntropyLoss does. Move-only.
class NllLoss {
 public:
  /// A loss for batches of exactly `rows` rows (>= 1, else InvalidArgument).
  NllLoss(Context& context, uint64_t rows, NllOptions options = {});

  /// Records loss = nll(log_probs, labels): 1 element for mean / sum (deterministic reduction), N for
  /// none; OVERWRITTEN. Also writes status().
  void forward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& loss);
  /// Records dlog_probs = −scale · dloss at each row's label, 0 elsewhere and on ignored rows
  /// (scale = 1 / non-ignored rows for mean, else 1). dlog_probs (N, C) is OVERWRITTEN.
  void backward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& dlog_probs,
                float dloss = 1.0f);
  /// Same layout as CrossEntropyLoss::status().
  const Tensor& status() const { return status_; }
  /// As CrossEntropyLoss::check_labels().
  void check_labels() const;

 private:
  uint64_t rows_;
  NllOptions options_;
  Tensor row_loss_;
  Tensor status_;
};

/// Which element-wise loss a PointwiseLoss computes.
enum class PointwiseLossKind : uint32_t {
  mse,              ///< (x − t)², as torch.nn.functional.mse_loss
  bce_with_logits,  ///< max(x, 0) − x·t + log1p(e^−|x|), as binary_cross_entropy_with_logits
  l1,               ///< |x − t|, as torch.nn.functional.l1_loss
  /// |d| < β ? 0.5·d²/β : |d| − 0.5·β with d = x − t, as torch.nn.functional.smooth_l1_loss(beta=β);
  /// β = 0 is l1, in the gradient too (0 at x = t, where PyTorch's smooth_l1 kernel gives −1).
  smooth_l1,
};

/// PyTorch's name of the functional form: "mse", "bce_with_logits", "l1", "smooth_l1".
const char* to_string(PointwiseLossKind kind);

/// An element-wise loss (MSE, BCE with logits, L1, smooth L1) between an input x and a target t of
/// the same shape (any shape, n elements, f32), reduction mean (÷ n), sum or none. Owns the scratch
/// for its deterministic two-pass reduction. NaN in x or t propagates to the loss and the gradient.
/// Move-only.
class PointwiseLoss {
 public:
  /// A loss of `kind` over inputs of exactly `elements` elements (>= 1, else InvalidArgument).
  /// `beta` is smooth_l1's threshold (PyTorch's default 1; must be finite and >= 0, else
  /// InvalidArgument); the other kinds ignore it.
  PointwiseLoss(Context& context, PointwiseLossKind kind, uint64_t elements, Reduction reduction = Reduction::mean,
                float beta = 1.0f);

  /// Records loss: 1 element for mean / sum, x's element count for none; OVERWRITTEN.
  void forward(CommandList& cmd, const Tensor& x, const Tensor& target, Tensor& loss);
  /// Records dx = dloss · scale · ∂term/∂x, scale = 1/n for mean, else 1 (for none: every element's
  /// upstream gradient is dloss). ∂term/∂x: mse 2(x − t); bce sigmoid(x) − t; l1 sign(x − t), 0 at
  /// x = t as torch.sign; smooth_l1 (x − t)/β where |x − t| < β, else sign(x − t). dx is
  /// OVERWRITTEN. A NaN x or t gives a NaN gradient (PyTorch's CPU l1_loss gives 0 there).
  void backward(CommandList& cmd, const Tensor& x, const Tensor& target, Tensor& dx, float dloss = 1.0f);

  /// The kind it computes.
  PointwiseLossKind kind() const { return kind_; }
  /// The element count it was created for.
  uint64_t elements() const { return elements_; }

 private:
  PointwiseLossKind kind_;
  uint64_t elements_;
  Reduction reduction_;
  float beta_;
  Tensor terms_;
  Tensor partials_;
};

}  // namespace vkgrad
