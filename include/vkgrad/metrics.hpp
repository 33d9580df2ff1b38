/// \file
/// Training metrics accumulated on the device: a training loop adds every batch's loss and number of
/// correct predictions to a small device tensor and reads it back only when it reports progress.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records, for a batch of N rows (N = predictions.numel()):
///   totals[0] += loss[0] · N        (loss: f32 [1], the batch's MEAN loss; Kahan-compensated
///                                    with totals[3] holding the compensation)
///   totals[1] += #{r : predictions[r] == labels[r]}
///   totals[2] += N
/// predictions and labels: i32 with N elements (e.g. argmax_rows and gather_labels outputs);
/// totals: f32 with 4 elements, zero it to start (counts are exact below 2^24). One dispatch.
void accumulate_metrics(CommandList& cmd, const Tensor& loss, const Tensor& predictions, const Tensor& labels,
                        Tensor& totals);

}  // namespace vkgrad
