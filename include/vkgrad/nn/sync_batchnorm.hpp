/// \file
/// nn::SyncBatchNorm: BatchNorm1d whose batch statistics span every replica of data-parallel
/// training, and nn::convert_sync_batchnorm. Included by vkgrad/nn.hpp.
#pragma once

#include <cstdint>
#include <memory>

#include "vkgrad/nn/module.hpp"

namespace vkgrad::nn {

/// nn.SyncBatchNorm(num_features, eps, momentum, affine) on (rows, features): in training mode the
/// mean and variance are those of the GLOBAL batch, every replica's rows together, so N replicas at
/// global batch B normalise (and update the running statistics) as one BatchNorm1d at batch B.
/// The replicas are those of the last set_replica_rows() (the data-parallel Trainer calls it before
/// recording each step); with none, or a group of one, it records exactly what BatchNorm1d records.
/// Eval mode normalises with the running statistics and communicates nothing.
///
/// A training forward() records: this replica's per-channel count, mean and M2
/// (batchnorm_statistics), a copy into host-visible memory, a CommandList::host_step that
/// all-gathers every replica's statistics (ReplicaGroup::allgather) and combines them in rank order
/// (batchnorm_combine_statistics: the same bits on every replica), a copy back and
/// batchnorm_normalize. backward() records batchnorm_backward_sums, a host step that all-gathers the
/// sums and adds them in rank order (in double), and batchnorm_backward_apply. So each replayed step
/// makes two host round trips per SyncBatchNorm layer, each a collective: every replica must replay
/// its step. A replica may hold one row (or several fewer than another); only a global batch of one
/// row is refused in training, as BatchNorm1d refuses a batch of one.
///
/// Gradients: backward() writes, for this replica's rows, dx = ∂(Σ_r L_r)/∂x with the sum over
/// every replica's loss L_r (the global Σdy and Σdy·xhat), and weight / bias gradients from this
/// replica's rows only. When each replica's loss is the mean over its own B / N rows and the
/// parameter gradients are averaged over the N replicas after backward (the data-parallel Trainer,
/// dist::GradientAverager, PyTorch's DistributedDataParallel), the averaged gradient of every
/// parameter (this layer's and those before it) is that of the mean loss over the global batch:
/// L = (1/B) Σ_rows ℓ = (1/N) Σ_r L_r, so ∂L/∂θ = (1/N) Σ_r ∂L_r/∂θ, and replica r's share of
/// Σ_r ∂L_r/∂θ flows through its own rows only: the weight / bias sums over its rows and, before
/// the layer, dx of its rows.
///
/// State dict: as BatchNorm1d's (weight, bias, running_mean, running_var, and num_batches_tracked
/// added by Sequential::state_dict), so either loads the other's, as in PyTorch. Sequential and the
/// Trainer treat it as a BatchNorm1d (it is one).
class SyncBatchNorm : public BatchNorm1d {
 public:
  /// As BatchNorm1d's constructor: num_features >= 1 (else InvalidArgument); weight 1, bias 0,
  /// running_mean 0, running_var 1.
  SyncBatchNorm(Context& context, uint64_t num_features, BatchNormOptions options = {});
  std::string type_name() const override { return "SyncBatchNorm"; }
  /// Training with a group of two or more replicas: records the synchronised forward pass above.
  /// Otherwise as BatchNorm1d::forward. InvalidArgument when the rows of x exceed the global rows
  /// of set_replica_rows() or the global batch has fewer than 2 rows. The host step throws
  /// InvalidArgument (out of CommandList::submit) when the replicas' rows do not add up to those
  /// global rows.
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records the backward pass of the forward() recorded last (synchronised or not, the same way);
  /// InvalidArgument in eval mode or when the replicas changed between the two.
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  /// The replicas for the passes recorded from now on.
  void set_replica_rows(const ReplicaRows& rows) override { rows_ = rows; }
  /// The last set_replica_rows().
  const ReplicaRows& replica_rows() const { return rows_; }

 private:
  bool synchronised() const;
  ReplicaRows rows_;
  const ReplicaGroup* forward_group_ = nullptr;  // the group of the last forward() recorded in training
  // moments_ (4, C): the combined statistics the normalisation and backward read; stats_ (3, C):
  // this replica's statistics; local_sums_ / global_sums_ (2, C); host_ (4·C): the host-visible
  // staging that the host steps exchange through (shared with the recorded host steps, which
  // outlive the module when a list does).
  Tensor moments_, stats_, local_sums_, global_sums_;
  std::shared_ptr<Tensor> host_;
};

/// As torch.nn.SyncBatchNorm.convert_sync_batchnorm: replaces every BatchNorm1d of `model` (also
/// inside a Residual or a nested Sequential) by a SyncBatchNorm with the same num_features,
/// options, mode, parameters and running statistics (copied on the device; waits for it); the
/// step counter, and so num_batches_tracked, is the model's and stays. Returns how many layers
/// were replaced; SyncBatchNorm layers are left as they are. Call it before building the optimizer
/// and the Trainer and before recording: an optimizer built before holds the replaced layers'
/// tensors, and lists recorded before run the replaced layers (kept alive by those lists) and
/// update nothing the model holds now. The model's cached activations are dropped, as by add().
std::size_t convert_sync_batchnorm(Sequential& model);

}  // namespace vkgrad::nn
