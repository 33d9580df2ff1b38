/// \file
/// BatchNorm1d on (rows, channels) activations with PyTorch's semantics and defaults: batch
/// statistics and running-statistics updates in training mode, running statistics in eval mode.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// nn.BatchNorm1d's options, with its defaults. Setters chain: `BatchNormOptions{}.set_eps(1e-3f)`.
struct BatchNormOptions {
  /// Weight of the new batch statistic in the running averages:
  /// running = (1 - momentum) · running + momentum · batch. (PyTorch's momentum=None, a cumulative
  /// average, is not supported.) In [0, 1], else a training-mode batchnorm_forward throws
  /// InvalidArgument.
  float momentum = 0.1f;
  /// Added to the variance before the square root. Finite and >= 0, else batchnorm_forward throws
  /// InvalidArgument.
  float eps = 1e-5f;
  /// Learnable per-channel scale gamma and shift beta. When false they are not read and may be
  /// empty tensors; backward then writes no dgamma / dbeta.
  bool affine = true;
  /// Training mode: normalise with the batch's statistics, update the running ones. Eval mode:
  /// normalise with the running statistics, update nothing.
  bool training = true;

  /// Set the field of the same name and return *this, for chaining.
  ///@{
  BatchNormOptions& set_momentum(float v) {
    momentum = v;
    return *this;
  }
  BatchNormOptions& set_eps(float v) {
    eps = v;
    return *this;
  }
  BatchNormOptions& set_affine(bool v) {
    affine = v;
    return *this;
  }
  BatchNormOptions& set_training(bool v) {
    training = v;
    return *this;
  }
  ///@}
};

/// Records y = BatchNorm1d(x). All tensors f32. x and y: (N, C) (y must not alias x);
/// gamma, beta, running_mean, running_var, save_mean, save_invstd: C elements each.
///
/// Training (options.training): per channel, over the N rows, mean and biased variance var
/// (a stable two-pass computation), invstd = 1 / sqrt(var + eps), and
///   y = (x - mean) · invstd · gamma + beta,
///   save_mean = mean, save_invstd = invstd (OVERWRITTEN; what batchnorm_backward needs),
///   running_mean and running_var updated IN PLACE with momentum; running_var takes the unbiased
///   variance var · N / (N - 1), as PyTorch does.
///   (Initialise them as nn.BatchNorm1d does: running_mean = 0, running_var = 1.)
/// Throws InvalidArgument for N = 1 ("expected more than 1 value per channel when training").
///
/// Eval (!options.training): y = (x - running_mean) / sqrt(running_var + eps) · gamma + beta;
/// nothing else is written, and save_mean / save_invstd may be empty tensors.
///
/// A NaN or ±inf in a channel of x makes that channel's y, save_invstd and running_var NaN and its
/// save_mean / running_mean NaN (±inf for inf alone); other channels are unaffected.
/// Deterministic: the same inputs give bit-identical outputs on a given device.
void batchnorm_forward(CommandList& cmd, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, Tensor& save_mean, Tensor& save_invstd, Tensor& y,
                       const BatchNormOptions& options = {});

/// Records the gradients of a TRAINING-mode batchnorm_forward, from its save_mean and save_invstd.
/// All tensors f32; x, dy, dx: (N, C) (dx must not alias x or dy); the others C elements each.
/// With xhat = (x - save_mean) · save_invstd and sums over the N rows of each channel:
///   dx     = gamma · save_invstd / N · (N·dy - Σdy - xhat · Σ(dy·xhat))   (OVERWRITTEN)
///   dgamma = Σ(dy · xhat), dbeta = Σdy                                   (OVERWRITTEN, not accumulated)
/// Only options.affine is read: without it gamma, dgamma and dbeta are unused and may be empty.
void batchnorm_backward(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& save_mean,
                        const Tensor& save_invstd, const Tensor& gamma, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                        const BatchNormOptions& options = {});

}  // namespace vkgrad
