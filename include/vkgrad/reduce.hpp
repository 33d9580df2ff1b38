/// \file
/// Reductions: row-wise softmax and log_softmax (forward and backward); sum / mean / max along rows,
/// along columns or over a whole tensor; argmax per row; the squared L2 norm. All deterministic
/// (fixed summation order, no float atomics); NaN propagates through max and sum.
#pragma once

#include <cstdint>

#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
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

/// The reduction of reduce_rows, reduce_columns and reduce_all.
enum class ReduceOp : uint32_t {
  /// Σ of the elements
  sum,
  /// Σ / element count
  mean,
  max,  ///< NaN is the maximum when present (as torch.max)
};

/// Records out[r] = op over row r of x. x is f32 (N, C): its last dimension is C, all leading
/// dimensions together are the rows N. out is f32 with N elements (any shape), OVERWRITTEN.
void reduce_rows(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out);

/// Records out[c] = op over column c of x (N, C) as above: out is f32 with C elements, OVERWRITTEN.
/// One invocation per column walks the rows in order, so this suits many columns (a bias gradient);
/// for few columns and very many rows prefer reduce_all on slices or transposing.
void reduce_columns(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out);

/// Scratch for whole-tensor reductions: the partial results of their first pass. One workspace can
/// serve any number of reductions in a command list (they are ordered by barriers). Move-only.
class ReduceWorkspace {
 public:
  /// Allocates the partial results (a small f32 tensor of fixed size, independent of the inputs).
  explicit ReduceWorkspace(Context& context);
  /// The f32 tensor of partial results, OVERWRITTEN by every reduction that uses the workspace.
  Tensor& partials() { return partials_; }

 private:
  Tensor partials_;
};

/// Records out[0] = op over every element of x (any shape, f32). out is a 1-element f32 tensor,
/// OVERWRITTEN. Two passes (x into a fixed number of partial results, then those into one):
/// the result is the same on every run.
void reduce_all(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out, ReduceWorkspace& workspace);

/// Records out[0] = Σ x², the squared L2 norm of x (any shape, f32), for gradient clipping.
/// out is a 1-element f32 tensor, OVERWRITTEN. Deterministic two-pass reduction as reduce_all.
void squared_l2_norm(CommandList& cmd, const Tensor& x, Tensor& out, ReduceWorkspace& workspace);

/// Records index[r] = the column of the maximum of row r of x (N, C) f32, as torch.argmax(x, -1):
/// NaN counts as the maximum, ties give the first index. index is i32 with N elements, OVERWRITTEN.
void argmax_rows(CommandList& cmd, const Tensor& x, Tensor& index);

}  // namespace vkgrad
