/// \file
/// BatchNorm1d on (rows, channels) activations with PyTorch's semantics and defaults: batch
/// statistics and running-statistics updates in training mode, running statistics in eval mode.
#pragma once

#include <cstdint>
#include <span>

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

/// \name Batch norm with statistics combined outside the kernels (SyncBatchNorm)
/// The pieces of a training-mode batch norm whose statistics span several replicas (processes or
/// devices that each hold a slice of the batch): each replica records batchnorm_statistics on its
/// rows, the replicas' statistics are combined on the host by batchnorm_combine_statistics (every
/// replica the same, in rank order), and each replica records batchnorm_normalize with the result;
/// backward likewise with batchnorm_backward_sums, the sum of every replica's sums, and
/// batchnorm_backward_apply. With one replica the composition equals batchnorm_forward /
/// batchnorm_backward within float rounding (not bit for bit: the statistics are combined in double).
/// nn::SyncBatchNorm records them around CommandList::host_step.
///
/// Layouts (f32, row-major): `statistics` (3, C): mean_hi, mean_lo, m2, where mean_hi + mean_lo is
/// the mean as an unevaluated sum (mean_hi the float mean, mean_lo the part it loses, so that
/// x = 1e4 + small noise keeps its digits) and m2 = Σ(x − mean)² (never negative); `moments` (4, C):
/// mean_hi, mean_lo, invstd = 1 / sqrt(var + eps) with the biased variance var, and the unbiased
/// variance; `sums` (2, C): Σdy, Σ(dy · xhat).
///@{

/// Records the per-channel statistics of this replica's rows of x (N, C), N >= 1, into
/// `statistics` (3, C) (OVERWRITTEN), with batchnorm_forward's stable two-pass sums (never Σx and
/// Σx²). A NaN in a channel makes its three values NaN; a ±inf gives mean_hi ±inf, mean_lo 0 and
/// m2 NaN. InvalidArgument for non-f32 tensors or wrong shapes.
void batchnorm_statistics(CommandList& cmd, const Tensor& x, Tensor& statistics);

/// Host: combines the statistics of `counts.size()` replicas into `moments` (4·C values, the
/// layout above). `statistics` holds each replica's 3·C values of batchnorm_statistics,
/// concatenated in rank order; replica r had counts[r] rows (0 for a replica without rows, whose
/// values are ignored). Means and m2 are merged in double, in rank order, with Chan et al.'s
/// pairwise formula (mean += δ·n_b / n, m2 += m2_b + δ²·n_a·n_b / n): the same inputs give the same
/// bits on every replica. Then var = m2 / n, invstd = 1 / sqrt(var + eps), var_unbiased =
/// m2 / (n − 1) (as PyTorch's running_var). A NaN propagates to its channel; a channel whose
/// replicas hold infinities of one sign has mean ±inf, of both signs NaN (as one batch would).
/// InvalidArgument when statistics.size() is not 3 · C · counts.size() for moments.size() = 4 · C,
/// the total count is below 2 ("expected more than 1 value per channel when training"), or eps is
/// negative or not finite.
void batchnorm_combine_statistics(std::span<const float> statistics, std::span<const uint64_t> counts, float eps,
                                  std::span<float> moments);

/// Records the training-mode normalisation with combined `moments` (4, C):
///   y = ((x − mean_hi) − mean_lo) · invstd · gamma + beta                  (y: x's shape, OVERWRITTEN)
///   running_mean = (1 − momentum) · running_mean + momentum · (mean_hi + mean_lo)   (IN PLACE)
///   running_var  = (1 − momentum) · running_var  + momentum · var_unbiased           (IN PLACE)
/// x (N, C), N >= 1; gamma, beta, running_mean, running_var: C elements. options.momentum and
/// options.affine are read (eps is in the moments already; options.training is ignored: eval mode
/// is batchnorm_forward's). InvalidArgument for wrong shapes or dtypes, y aliasing x, or momentum
/// outside [0, 1].
void batchnorm_normalize(CommandList& cmd, const Tensor& x, const Tensor& moments, const Tensor& gamma,
                         const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                         const BatchNormOptions& options = {});

/// Records this replica's backward sums into `sums` (2, C) (OVERWRITTEN): Σdy and Σ(dy · xhat)
/// over the rows of x and dy (N, C), xhat = ((x − mean_hi) − mean_lo) · invstd from `moments`.
void batchnorm_backward_sums(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& moments, Tensor& sums);

/// Records the gradients of batchnorm_normalize from the sums over every replica (`global_sums`,
/// (2, C)) and their total row count `count` (>= 1):
///   dx = gamma · invstd · ((dy − Σdy / count) − xhat · Σ(dy·xhat) / count)    (OVERWRITTEN)
/// and this replica's weight and bias gradients from its own sums (`local_sums`, (2, C)):
///   dgamma = local Σ(dy·xhat), dbeta = local Σdy                           (OVERWRITTEN)
/// These are the gradients of the sum of every replica's loss, seen from this replica's rows: when
/// each replica's loss is the mean over its own rows and the replicas average their parameter
/// gradients afterwards (data-parallel training), the averaged gradients are those of the mean loss
/// over the whole batch (nn::SyncBatchNorm's class comment). Only options.affine is read: without
/// it gamma, local_sums, dgamma and dbeta are unused and may be empty. With one replica, pass the
/// same sums twice. dx must not alias x or dy.
void batchnorm_backward_apply(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& moments,
                              const Tensor& global_sums, const Tensor& local_sums, uint64_t count, const Tensor& gamma,
                              Tensor& dx, Tensor& dgamma, Tensor& dbeta, const BatchNormOptions& options = {});
///@}

}  // namespace vkgrad
