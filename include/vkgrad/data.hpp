/// \file
/// Batches assembled on the device from a dataset that lives on the device: gather rows by index
/// (converting u8 pixels to f32 with a scale and shift on the way), gather labels, one-hot.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records out[b, :] = src[index[b], :] · scale + shift.
/// src: (rows, features...) f32 or u8 (any rank >= 2: the features are all trailing dimensions);
/// index: i32 with `batch` elements; out: f32 with batch·features elements (e.g. (batch, features)).
/// An index outside [0, rows) gives a row of NaN in out (training on it then shows as a NaN loss).
/// For MNIST-style normalisation: scale = 1 / (255·std), shift = -mean / std.
void gather_rows(CommandList& cmd, const Tensor& src, const Tensor& index, Tensor& out, float scale = 1.0f,
                 float shift = 0.0f);

/// Records out[b] = labels[index[b]]. labels: u8 or i32, one per row; index and out: i32 with the
/// same element count. An index outside [0, rows) gives label -1, which the losses report as bad.
void gather_labels(CommandList& cmd, const Tensor& labels, const Tensor& index, Tensor& out);

/// Records index[b] = permutation[cursor[0] · stride + b] for every b < index.numel(): the next
/// batch's row indices from a per-epoch permutation, at a position read ON THE DEVICE, so one
/// recorded training step serves every batch (advance the cursor with optimizer_advance_step).
/// permutation, cursor (1 element) and index: i32. A position outside the permutation (or a
/// negative cursor) gives -1, which gather_rows turns into a NaN row and gather_labels into -1.
/// stride is normally the full batch size (so a last, shorter batch continues where the full ones
/// stopped).
void select_batch(CommandList& cmd, const Tensor& permutation, const Tensor& cursor, uint32_t stride, Tensor& index);

/// Records out[n, c] = labels[n] == c ? on : off. labels: i32 (N); out: f32 (N, classes).
/// A label outside [0, classes) gives a row of NaN.
void one_hot(CommandList& cmd, const Tensor& labels, Tensor& out, float on = 1.0f, float off = 0.0f);

}  // namespace vkgrad
