// Row-wise softmax and log_softmax (forward and backward): reductions along the last dimension of an
// (N, C) matrix, one workgroup per row with a deterministic shared-memory tree.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records y = softmax(x) along the last dimension, as torch.softmax(x, dim=-1).
///
/// x and y are f32 with the same shape; the last dimension is C (>= 1) and all leading dimensions
/// together are the rows N. Computed as e^(x - max) / Σ e^(x - max), so ±1e4 and -inf entries are
/// fine (-inf gives 0). A row holding NaN or +inf, or made only of -inf, is all NaN (as PyTorch).
/// y is OVERWRITTEN and must not alias x.
void softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y);

/// Records dx = y ⊙ (dy − Σ_row dy ⊙ y), the input gradient of softmax_forward given its output y
/// and the upstream gradient dy (all f32, same shape, rows along the last dimension).
/// dx is OVERWRITTEN and must not alias y or dy.
void softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx);

/// Records y = log_softmax(x) along the last dimension, as torch.log_softmax(x, dim=-1):
/// (x − max) − log Σ e^(x − max). Shapes and non-finite rows as softmax_forward (-inf gives -inf).
/// y is OVERWRITTEN and must not alias x.
void log_softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y);

/// Records dx = dy − e^y · Σ_row dy, the input gradient of log_softmax_forward given its output y
/// (e^y = softmax(x)) and the upstream gradient dy. dx is OVERWRITTEN and must not alias y or dy.
void log_softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx);

}  // namespace vkgrad
