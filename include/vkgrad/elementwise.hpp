/// \file
/// Elementwise and structural ops on f32 tensors: add / sub / mul / div with a row-vector
/// broadcast, scale and axpy (BLAS's names), clamp, concatenation and split along the feature
/// dimension, and the 2-D transpose, each with its backward. PyTorch semantics: NaN propagates,
/// x / 0 is ±inf and 0 / 0 NaN.
#pragma once

#include <cstdint>
#include <span>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// The operation of binary_forward / binary_backward.
enum class BinaryOp : uint32_t {
  add,  ///< a + b
  sub,  ///< a − b
  mul,  ///< a · b
  div,  ///< a / b (as torch.div: x / 0 = ±inf, 0 / 0 = NaN)
};

/// Records out = a op b elementwise (f32). Either a and b have the same shape, or one of them is a
/// row vector, shape (cols) or (1, cols), and the other has cols as its last dimension: the row
/// vector is then broadcast over every row (all leading dimensions together) of the other, as
/// PyTorch broadcasts a bias. out has the shape of the larger operand and is OVERWRITTEN; it must
/// not alias a or b. Throws InvalidArgument for another dtype, shapes that neither match nor
/// broadcast, or a wrongly shaped or aliasing out.
void binary_forward(CommandList& cmd, BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);

/// Records the input gradients of binary_forward given the upstream gradient dout (out's shape):
/// da = ∂/∂a and db = ∂/∂b as PyTorch's autograd computes them (div: da = dout / b,
/// db = −dout · ((a / b) / b)), each OVERWRITTEN and skipped when empty. The gradient of a
/// broadcast row vector is the column sum of its elementwise gradient (reduce_columns: a fixed
/// order, the same bits on every run); for add that is the column sum of dout, for sub, mul and
/// div the elementwise gradient goes to `scratch` first, an f32 tensor of dout's element count
/// (only then needed; OVERWRITTEN). da / db have the shapes of a / b; no output may alias an input
/// or another output. Throws InvalidArgument as binary_forward, for a mismatching dout, da, db or
/// scratch, and for a missing scratch where one is needed.
void binary_backward(CommandList& cmd, BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dout, Tensor& da,
                     Tensor& db, Tensor* scratch = nullptr);

/// binary_forward(cmd, BinaryOp::add, a, b, out): out = a + b.
inline void add(CommandList& cmd, const Tensor& a, const Tensor& b, Tensor& out) {
  binary_forward(cmd, BinaryOp::add, a, b, out);
}
/// binary_forward(cmd, BinaryOp::sub, a, b, out): out = a − b.
inline void sub(CommandList& cmd, const Tensor& a, const Tensor& b, Tensor& out) {
  binary_forward(cmd, BinaryOp::sub, a, b, out);
}
/// binary_forward(cmd, BinaryOp::mul, a, b, out): out = a · b.
inline void mul(CommandList& cmd, const Tensor& a, const Tensor& b, Tensor& out) {
  binary_forward(cmd, BinaryOp::mul, a, b, out);
}
/// binary_forward(cmd, BinaryOp::div, a, b, out): out = a / b.
inline void div(CommandList& cmd, const Tensor& a, const Tensor& b, Tensor& out) {
  binary_forward(cmd, BinaryOp::div, a, b, out);
}

/// Records y = α·x (BLAS scal, out of place): x and y f32 with the same element count, y
/// OVERWRITTEN and not aliasing x. Its backward is scale(cmd, α, dy, dx).
void scale(CommandList& cmd, float alpha, const Tensor& x, Tensor& y);

/// Records y = α·x + y (BLAS axpy): x and y f32 with the same element count, y READ AND
/// OVERWRITTEN, not aliasing x. Backward: ∂/∂x = α·dy (scale(cmd, α, dy, dx)); ∂/∂y_in = dy.
void axpy(CommandList& cmd, float alpha, const Tensor& x, Tensor& y);

/// Records y = torch.clamp(x, min, max) = min(max(x, min), max): NaN in x (or a NaN bound) gives
/// NaN; min > max gives max everywhere, as PyTorch. Pass ±infinity for a missing bound. x and y f32
/// with the same element count, y OVERWRITTEN and not aliasing x.
void clamp_forward(CommandList& cmd, const Tensor& x, Tensor& y, float min, float max);

/// Records dx = dy where min ≤ x ≤ max (both bounds included, as PyTorch's clamp_backward), else 0
/// (NaN x included). x, dy, dx f32 with the same element count; dx OVERWRITTEN and not aliasing x
/// or dy.
void clamp_backward(CommandList& cmd, const Tensor& x, const Tensor& dy, Tensor& dx, float min, float max);

/// Records y = torch.cat(inputs, dim=1): inputs[i] is a 2-D (rows, w_i) f32 tensor, y is
/// (rows, Σ w_i) f32, OVERWRITTEN. One copy dispatch per input (two bindings each), so any number
/// N >= 1 of inputs fits the device's descriptor limits. y must not alias an input. Throws
/// InvalidArgument for no inputs, a null input, an input that is not a 2-D f32 tensor, mismatching
/// rows or a wrong y. Its backward is split_columns.
void concat_columns(CommandList& cmd, std::span<const Tensor* const> inputs, Tensor& y);

/// Records the inverse of concat_columns, torch.split(x, widths, dim=1): outputs[i] (rows, w_i) =
/// columns [Σ_{j<i} w_j, Σ_{j≤i} w_j) of x (rows, Σ w_i), each OVERWRITTEN. One copy dispatch per
/// output. Outputs must not alias x. Throws InvalidArgument as concat_columns. Its backward is
/// concat_columns.
void split_columns(CommandList& cmd, const Tensor& x, std::span<Tensor* const> outputs);

/// Records y = xᵀ: x (rows, cols) f32, y (cols, rows) f32, OVERWRITTEN and not aliasing x. Its
/// backward is transpose(dy) into dx. Throws InvalidArgument for a non-2-D or non-f32 tensor or a
/// wrong y.
void transpose(CommandList& cmd, const Tensor& x, Tensor& y);

}  // namespace vkgrad
