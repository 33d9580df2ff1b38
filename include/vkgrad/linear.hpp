/// \file
/// Matrix products: a general GEMM (f32 or f16 inputs, f32 accumulation and result), and nn.Linear
/// forward (with a fused bias + activation epilogue) and backward built on it.
#pragma once

#include "vkgrad/activation.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records C = alpha · op(A) · op(B) + beta · C, where op(A) = Aᵀ when transpose_a, else A (same for B).
///
/// All three are 2-D tensors: op(A) is M×K, op(B) is K×N and C is M×N, with any M, N, K ≥ 1;
/// A is stored M×K (K×M when transpose_a), B stored K×N (N×K when transpose_b). A and B are each f32
/// or f16 (binary16 storage, e.g. f16 weights times f32 activations: each value is converted exactly
/// to f32 as it is read); C is f32. Accumulation is in f32, in the same order for both input types.
/// With beta == 0, C is only written, never read (a NaN left in C does not reach the result).
/// C must not be the same tensor as A or B. Throws InvalidArgument, naming every shape, when the
/// shapes do not fit together.
void gemm(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a = false,
          bool transpose_b = false, float alpha = 1.0f, float beta = 0.0f);

/// nn.Linear followed by an activation, in one dispatch: Y = act(X · Wᵀ + b).
///
/// Shapes (PyTorch layout): X (N × in_features), W (out_features × in_features), b (out_features)
/// or an empty Tensor for no bias, Y (N × out_features). X and W are each f32 or f16 (read as gemm
/// reads them, f32 accumulation); b and Y are f32. The bias add and the activation
/// (any row of the activation table, with its parameters and optional sparse threshold) run on the
/// accumulators before the single store, so the pre-activation X·Wᵀ + b is not kept: a caller that
/// needs it for the backward pass of a non-identity activation should run linear_forward with
/// Activation::identity and then activation_forward. Y is overwritten and must not be X or W.
void linear_forward(CommandList& cmd, const Tensor& X, const Tensor& W, const Tensor& b, Tensor& Y,
                    const ActivationSpec& act = Activation::identity);

/// Gradients of Y = X · Wᵀ + b given dY = ∂loss/∂Y:
///   dX = dY · W          (N × in_features),
///   dW = dYᵀ · X         (out_features × in_features),
///   db = Σ_rows dY       (out_features).
///
/// dY is the gradient with respect to the linear output *before* any activation: for a fused
/// linear_forward with an activation, first run activation_backward (on the pre-activation) to turn
/// the gradient of the activation's output into dY, then call this.
/// dX and db may be empty Tensors, which skips them (e.g. dX for the first layer, db without bias).
/// With accumulate == false, dX, dW and db are overwritten; with accumulate == true, dW and db are
/// added into (dW += dYᵀ·X, db += Σ_rows dY, e.g. to sum gradients over micro-batches) while dX is
/// still overwritten (it is a per-batch activation gradient, never a parameter gradient).
/// X and W may be f16 (as in linear_forward); dY and every gradient are f32.
/// Results are deterministic (no atomics). Outputs must not be the same tensor as an input.
void linear_backward(CommandList& cmd, const Tensor& X, const Tensor& W, const Tensor& dY, Tensor& dX, Tensor& dW,
                     Tensor& db, bool accumulate = false);

}  // namespace vkgrad
