// Batches assembled on the device from a dataset that lives on the device: gather rows by index
// (converting u8 pixels to f32 with a scale and shift on the way), gather labels, one-hot.
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

/// Records out[n, c] = labels[n] == c ? on : off. labels: i32 (N); out: f32 (N, classes).
/// A label outside [0, classes) gives a row of NaN.
void one_hot(CommandList& cmd, const Tensor& labels, Tensor& out, float on = 1.0f, float off = 0.0f);

}  // namespace vkgrad
