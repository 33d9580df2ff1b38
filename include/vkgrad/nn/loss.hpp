/// \file
/// The losses of the nn API, with PyTorch's names and defaults. Included by vkgrad/nn.hpp.
#pragma once

#include <cstdint>
#include <map>

#include "vkgrad/command.hpp"
#include "vkgrad/loss.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn {

/// nn.CrossEntropyLoss(reduction='mean', ignore_index, label_smoothing) over (rows, classes)
/// logits and i32 labels; keeps one vkgrad::CrossEntropyLoss per batch size.
class CrossEntropyLoss {
 public:
  /// options.reduction must be mean (else InvalidArgument: use vkgrad::CrossEntropyLoss for the
  /// others).
  explicit CrossEntropyLoss(Context& context, CrossEntropyOptions options = {});
  /// Records the mean loss of logits (rows, classes) f32 against labels (rows) i32 into loss (f32,
  /// 1 element, OVERWRITTEN), with the vkgrad::CrossEntropyLoss for that many rows (created on
  /// first use).
  void forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss);
  /// Records dlogits (logits' shape, OVERWRITTEN) = the gradient of the mean loss.
  void backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits);
  /// Throws InvalidArgument naming the first bad label seen by any batch size (after the run).
  void check_labels() const;
  /// The options it was created with.
  const CrossEntropyOptions& options() const { return options_; }

 private:
  vkgrad::CrossEntropyLoss& for_rows(uint64_t rows);
  Context* context_;
  CrossEntropyOptions options_;
  std::map<uint64_t, vkgrad::CrossEntropyLoss> losses_;
};

}  // namespace vkgrad::nn
