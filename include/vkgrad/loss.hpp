// Losses. Cross-entropy from logits with integer labels (PyTorch semantics), fused and numerically
// stable, with device-side label validation reported through a small status tensor.
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

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  /// Rows with this label contribute 0 to the loss and get a zero gradient; mean divides by the rows
  /// that are not ignored.
  int32_t ignore_index = -100;
  /// ε in [0, 1): the target is (1 − ε)·onehot + ε/C.
  float label_smoothing = 0.0f;

  CrossEntropyOptions& set_reduction(Reduction r) { reduction = r; return *this; }
  CrossEntropyOptions& set_ignore_index(int32_t i) { ignore_index = i; return *this; }
  CrossEntropyOptions& set_label_smoothing(float e) { label_smoothing = e; return *this; }
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
  /// whose label was out of range, e.g. "vkgrad: cross_entropy: row 3 has label 12, outside [0, 10)
  /// and not ignore_index -100". Does nothing when all labels were valid.
  void check_labels() const;

  uint64_t rows() const { return rows_; }
  const CrossEntropyOptions& options() const { return options_; }

 private:
  void check_inputs(CommandList& cmd, const Tensor& logits, const Tensor& labels, const char* op) const;
  void record_label_check(CommandList& cmd, const Tensor& labels, uint32_t cols);

  uint64_t rows_;
  CrossEntropyOptions options_;
  Tensor row_loss_;
  Tensor status_;
};

/// The check behind CrossEntropyLoss::check_labels(), for a status tensor in that layout.
void check_label_status(const Tensor& status, int32_t ignore_index);

}  // namespace vkgrad
