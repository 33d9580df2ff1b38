/// \file
/// Training metrics accumulated on the device: a training loop adds every batch's loss and number of
/// correct predictions (class labels), or squared and absolute errors (f32 targets), to a small
/// device tensor and reads it back only when it reports progress.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records, for a batch of N rows (N = predictions.numel()):
///   totals[0] += loss[0] · N        (loss: f32 [1], the batch's MEAN loss; Kahan-compensated
///                                    with totals[3] holding the compensation; with loss_is_sum,
///                                    loss[0] is the batch's sum and is added as it is)
///   totals[1] += #{r : predictions[r] == labels[r]}
///   totals[2] += N
/// predictions and labels: i32 with N elements (e.g. argmax_rows and gather_labels outputs);
/// totals: f32 with 4 elements, zero it to start (counts are exact below 2^24). One dispatch.
void accumulate_metrics(CommandList& cmd, const Tensor& loss, const Tensor& predictions, const Tensor& labels,
                        Tensor& totals, bool loss_is_sum = false);

/// Records, for a batch of output (N, width...) f32 against target of the same shape (n elements):
///   totals[0] += loss[0] · N, or loss[0] with loss_is_sum  (Kahan-compensated with totals[3])
///   totals[1] += #{i : (output[i] > 0) == (target[i] > 0.5)}  (a multi-label logit's element accuracy)
///   totals[2] += N
///   totals[4] += Σ (output[i] − target[i])²                   (Kahan-compensated with totals[5])
///   totals[6] += Σ |output[i] − target[i]|                     (Kahan-compensated with totals[7])
/// N is output's first dimension. totals: f32 with 8 elements, zero it to start; counts are exact
/// below 2^24. A NaN error makes its sum NaN, an infinite one inf. One dispatch of one workgroup,
/// deterministic (fixed summation order).
void accumulate_value_metrics(CommandList& cmd, const Tensor& loss, const Tensor& output, const Tensor& target,
                              Tensor& totals, bool loss_is_sum = false);

}  // namespace vkgrad
