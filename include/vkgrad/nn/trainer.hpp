/// \file
/// nn::Trainer: one training step recorded once and replayed for every batch of a dataset.
/// Included by vkgrad/nn.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vkgrad/nn/loss.hpp"
#include "vkgrad/nn/module.hpp"
#include "vkgrad/nn/optim.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn {

/// A dataset on the device: inputs (count, features...) u8 or f32, normalised while gathered
/// (x = pixel · effective_scale() + shift), and what the loss compares the model's output with:
/// class `labels` for CrossEntropyLoss and NLLLoss, f32 `targets` for MSELoss, L1Loss,
/// SmoothL1Loss and BCEWithLogitsLoss (regression, multi-output, multi-label). The Trainer reads
/// the one its loss needs (Loss::target_kind()) and ignores the other.
struct DeviceDataset {
  /// (count, features...): u8 pixels or f32 values, one sample per row of the first dimension.
  Tensor images;
  /// (count): u8 or i32 class labels.
  Tensor labels;
  /// Multiplies every pixel as it is gathered (x = pixel · scale + shift). Unset (the default):
  /// 1/255 for u8 images, so pixels land in [0, 1], and 1 for f32 images, which are used as they
  /// are. Set it to scale either explicitly.
  std::optional<float> scale;
  /// Added after the scale. Default 0.
  float shift = 0.0f;
  /// (count, width) f32 targets, width = the model's outputs, used as they are (no scale or shift).
  Tensor targets;
  /// The scale applied while gathering: `scale` when set, else 1/255 for u8 images (and while
  /// there are none) and 1 for any other dtype.
  float effective_scale() const {
    if (scale) return *scale;
    return images.empty() || images.dtype() == DType::u8 ? 1.0f / 255.0f : 1.0f;
  }
  /// Number of samples (images' first dimension; 0 when empty).
  uint64_t count() const { return images.empty() ? 0 : images.shape()[0]; }
  /// Values per sample (0 when empty).
  uint64_t features() const { return images.empty() ? 0 : images.numel() / images.shape()[0]; }
};

/// Options of a Trainer.
struct TrainerOptions {
  /// Rows per training step and per evaluation batch, in [1, 2^31); an epoch's last batch may be
  /// smaller. With replicas, the GLOBAL batch: the rows of one step across all replicas.
  uint64_t batch = 128;
  /// Data-parallel training: the replicas (one process each, e.g. a dist::Communicator) that train
  /// this model together, or null to train alone. Every replica makes the same Trainer (same
  /// options, model, loss and optimizer types) and passes the same datasets in the same order.
  /// See Trainer for what each replica does; the group must outlive the trainer.
  ReplicaGroup* replicas = nullptr;
  /// With replicas: most bytes of gradients reduced in one ReplicaGroup::allreduce_sum (PyTorch
  /// DDP's bucket_cap_mb is 25 MiB); a larger gradient forms a bucket of its own. Must be > 0.
  std::size_t bucket_bytes = std::size_t{25} << 20;
  /// Training steps recorded into one command list and submitted together. 0 = choose from a
  /// timed step, so that one submission takes about `target_submit_ms`.
  uint32_t steps_per_submit = 0;
  /// Milliseconds one submission should take when steps_per_submit is chosen (0): the second
  /// training step is timed alone and the count set to target / step time, within [1, 256].
  double target_submit_ms = 50;
  /// Seed of the per-epoch shuffles (the model's seeds are set on the model); load_checkpoint()
  /// restores the checkpoint's.
  uint64_t seed = 0;
  /// Record per-layer activation sparsity on every evaluation batch: the outputs of the model's
  /// Activation layers, except a last layer (Trainer::sparsity).
  bool measure_sparsity = false;
  /// Entries with |y| <= sparsity_eps count as near zero (SparsityStats::near_zero_count).
  float sparsity_eps = 1e-3f;
  /// Check every step ON THE DEVICE for a non-finite loss (NaN or ±inf) and, at the end of the
  /// submission that met one, throw NonFiniteError naming the epoch, the batch and where the first
  /// non-finite value of that step was: the input batch, the output of module i, or only the loss.
  /// Costs one small dispatch per step per 6 checked tensors (input, each module's output, loss)
  /// and one read of a small status tensor per submission; training results are bit-identical
  /// with it off. evaluate() checks too, and reports once it has finished.
  bool check_finite = true;
  /// Skip the last partial batch of each training epoch (count % batch samples, a different
  /// subset every epoch as the shuffle changes), as PyTorch's DataLoader(drop_last=True). Default
  /// false: that batch is a step of its own, its loss the mean over its own rows. evaluate() never
  /// drops samples.
  bool drop_last = false;
};

/// Epoch or evaluation figures, accumulated on the device and read back when asked for. Which
/// fields are meaningful depends on the loss:
///
/// | loss | loss | accuracy | mse, mae |
/// | --- | --- | --- | --- |
/// | CrossEntropyLoss, NLLLoss | ✓ | correct argmax / samples | 0 |
/// | MSELoss, L1Loss, SmoothL1Loss | ✓ | 0 | ✓ |
/// | BCEWithLogitsLoss | ✓ | elements with (logit > 0) = (target > 0.5) / target elements | 0 |
struct Metrics {
  /// Samples counted.
  uint64_t samples = 0;
  /// Mean loss per sample: each step's loss weighted by its rows (with reduction mean, the mean
  /// over every sample, or every target element for the element-wise losses; with sum, the summed
  /// loss / samples).
  double loss = 0;
  double accuracy = 0;  ///< see the table: class accuracy, or BCEWithLogitsLoss's element accuracy
  double mse = 0;       ///< mean of (output − target)² over every target element (regression losses)
  double mae = 0;       ///< mean of |output − target| over every target element (regression losses)
};

/// Data-parallel training: the gradient reductions run so far (Trainer::communication()).
struct CommunicationStats {
  /// Host reductions of the gradients: one per training step.
  uint64_t reductions = 0;
  /// Seconds spent in them (scaling this replica's gradients and ReplicaGroup::allreduce_sum).
  double seconds = 0;
  /// Gradient bytes reduced per step.
  uint64_t bytes_per_step = 0;
};

/// Progress report during an epoch: samples done so far and running metrics.
using ProgressFn = std::function<void(uint64_t done, uint64_t total, const Metrics& running)>;

/// Records the whole training step once and replays it:
///   batch indices from a per-epoch permutation (uploaded once per epoch) at the device-side
///   cursor → gather_rows (u8 → f32, normalised) and gather_labels (class labels) or gather_rows
///   (f32 targets) → model forward → loss forward → metrics accumulation (argmax and correct
///   count, or squared and absolute errors) → loss backward → model backward → optimizer step →
///   cursor and step counter advance.
/// A full epoch is floor(count / batch) replays of that list (steps_per_submit steps per
/// submission) and, when count is not a multiple of batch, one step of a list recorded for the last
/// partial batch, as a DataLoader with drop_last=False (TrainerOptions::drop_last skips it). Any
/// nn::Loss with reduction mean or sum trains; Metrics says which figures fit it.
///
/// Data-parallel training (TrainerOptions::replicas, N replicas, as PyTorch's
/// DistributedDataParallel with DistributedSampler):
///  - construction is collective: the options, the model's layers, the loss and the optimizer
///    must agree (else InvalidArgument on every replica), N must divide the global batch B; then
///    rank 0's parameters, buffers, training_state(), optimizer state and shuffle seed are
///    broadcast, so replicas that initialised differently start identical;
///  - every replica shuffles with the same permutation and takes the contiguous slice
///    [rank · B/N, (rank + 1) · B/N) of every global batch; the last partial batch of R rows is
///    split as evenly as possible (the first R mod N replicas take one row more; a replica may
///    take none and still joins the reductions). Every sample of an epoch is used once;
///  - inside the recorded step, after backward and before the optimizer, the gradients are
///    averaged: each replica's weighted by its rows / R (reduction mean) or 1 (sum), so a step
///    matches one process at batch B up to float reassociation (not with CrossEntropyLoss or
///    NLLLoss rows at ignore_index: the weights count rows, not the rows that count, as DDP's
///    averaging does), in buckets of bucket_bytes in reverse layer order through one host-visible
///    tensor (ReplicaGroup::allreduce_sum, in rank order with a deterministic dist::Communicator);
///    parameters stay identical on every replica;
///  - the model is told its rows (Module::set_replica_rows): Dropout keys its masks on the global
///    row, so N replicas draw the masks one process at batch B draws. BatchNorm1d normalises each
///    replica's rows alone, as DDP's default; its running statistics are rank 0's at the end of
///    every epoch (broadcast, so evaluate() and checkpoints agree on every replica);
///  - train_epoch returns, and progress sees, the metrics of all replicas' rows (their sums
///    reduced, not their means); a non-finite loss on any replica throws the same NonFiniteError
///    on every replica at the end of that submission;
///  - evaluate() runs the whole dataset on every replica (identical results everywhere);
///  - save_checkpoint writes on rank 0 only, load_checkpoint reads on rank 0 only and broadcasts.
/// The constructor, train_epoch, save_checkpoint and load_checkpoint are collective: every replica
/// makes them, in the same order (evaluate() communicates nothing).
class Trainer {
 public:
  /// A trainer of `model` with `loss` and `optimizer`, which it keeps references to: they must
  /// outlive it. Throws InvalidArgument for options.batch outside [1, 2^31) and for a loss with
  /// reduction none (a step needs a scalar loss).
  Trainer(Context& context, Sequential& model, Loss& loss, Optimizer& optimizer, TrainerOptions options);
  /// Releases the recorded command lists and the batch tensors.
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Trains one epoch over `data` (shuffled with the trainer's seed and epochs_done()), then
  /// increments epochs_done(). The steps run in training mode whatever the model's mode (Dropout
  /// drops, BatchNorm uses and updates batch statistics); the model's own mode is left as it was.
  /// Returns the epoch's metrics (of the model as it was at each step, before its update; see
  /// Metrics for the fields each loss fills). `progress` is called after submissions at most every
  /// `progress_interval_ms`, and at the end. Throws InvalidArgument, before any work, for an empty
  /// dataset, more than 2^31 − 1 samples, a model whose output size changed, a last batch of one
  /// row with a BatchNorm1d in the model, drop_last with fewer samples than one batch, and (as
  /// evaluate()) a dataset without what the loss needs: class labels (u8 or i32, one per sample,
  /// each in [0, model outputs) or the loss's ignore_index) or f32 targets (count, model outputs),
  /// all finite.
  ///
  /// Weight masks (Linear::set_weight_mask): the steps are recorded with the masks set when the
  /// epoch (or evaluate()) starts. A mask set or removed since then makes the trainer record its
  /// steps again; new values of a set mask need nothing (the steps read them when they run).
  Metrics train_epoch(const DeviceDataset& data, const ProgressFn& progress = {}, double progress_interval_ms = 200);
  /// Evaluates (eval mode, in order, every sample, no update): the metrics of the loss. The model's
  /// own mode is left as it was. Throws as train_epoch for a bad dataset, bad labels or targets.
  Metrics evaluate(const DeviceDataset& data);
  /// The per-layer sparsity of the activation layers' outputs over the last evaluate() (needs
  /// options.measure_sparsity): zero fraction over all rows, dead = zero for every row evaluated.
  std::vector<LayerSparsity> sparsity() const;

  /// Epochs trained by train_epoch: the epoch number of the next shuffle.
  uint64_t epochs_done() const { return epoch_; }
  /// Sets epochs_done(), e.g. when resuming from a checkpoint, so the next epoch is shuffled as it
  /// would have been without the interruption.
  void set_epochs_done(uint64_t epochs) { epoch_ = epochs; }
  /// Training steps per submission: options.steps_per_submit, or, when that is 0, the count
  /// chosen during the first train_epoch (0 before).
  uint32_t steps_per_submit() const { return steps_per_submit_; }

  /// Writes, to ONE safetensors file at `path` (atomically, as save_safetensors), everything a
  /// bit-exact resume needs between epochs:
  ///  - the model's state_dict() under its PyTorch names ("0.weight", "1.running_mean", ...);
  ///  - "vkgrad.model.<name>": the model's training_state() (step counter, dropout seed);
  ///  - "vkgrad.optimizer.<name>": the optimizer's state_dict() ("vkgrad.optimizer.step", ...);
  ///  - "vkgrad.trainer.epochs_done" and "vkgrad.trainer.seed" (I64 scalars, the seed's 64 bits):
  ///    the data order of the next epochs;
  ///  - "vkgrad.mask.<parameter>" for each Linear with a weight mask set ("vkgrad.mask.0.weight"):
  ///    the mask, U8 0/1 in W's shape. The plain "<i>.weight" tensor holds exact zeros where the
  ///    mask is 0, so the weights load into PyTorch as they are;
  /// and the metadata "format" = "pt", "vkgrad.checkpoint" (the layout's version), "vkgrad.model"
  /// (the model's repr, as PyTorch prints it), "vkgrad.optimizer" (its repr) and `metadata`, whose
  /// keys must not be "format" or start with "vkgrad." (else InvalidArgument). Every vkgrad key
  /// starts with "vkgrad.", so PyTorch loads the weights with
  /// `model.load_state_dict(safetensors.torch.load_file(path), strict=False)`, or with strict=True
  /// after dropping the keys that start with "vkgrad.". Waits for the device; throws Error when
  /// the file cannot be written.
  void save_checkpoint(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata = {});
  /// Resumes from a save_checkpoint() file: loads the model's state_dict and training_state(), the
  /// optimizer's state, epochs_done() and the shuffle seed (options().seed), so the next
  /// train_epoch() continues exactly as the saved run would have, whatever seeds this trainer,
  /// model and optimizer were made with. The model must have the checkpoint's layers (same repr)
  /// and the optimizer its type; its hyperparameters are the ones this optimizer was made with.
  /// Throws InvalidArgument, changing nothing, for a missing, truncated or corrupt file, a file
  /// that is not a Trainer checkpoint, another architecture, another optimizer type, missing or
  /// unexpected tensors, or tensors of another dtype or shape; the message says what differs.
  /// Weight masks: each "vkgrad.mask.<parameter>" is set (set_weight_mask) and every Linear the
  /// file has no mask for loses its mask (remove_weight_mask), so a pruned run resumes
  /// bit-identically; a mask that is not U8 0/1 in W's shape, or names no Linear weight, is refused.
  /// load_checkpoint_model_state() ignores the masks, as every "vkgrad." key.
  void load_checkpoint(const std::filesystem::path& path);

  /// Data-parallel training: the gradient reductions so far (all zero when training alone).
  CommunicationStats communication() const;

  /// The model being trained.
  Sequential& model() const;
  /// The optimizer updating it.
  Optimizer& optimizer() const;
  /// The options; seed is the checkpoint's after load_checkpoint().
  const TrainerOptions& options() const;

 private:
  // load_checkpoint's last step: the shuffle seed and epochs done of the checkpoint, and the
  // recorded lists dropped (they hold the Dropout seeds they were recorded with).
  void resume_at(uint64_t seed, uint64_t epochs_done);
  // save_checkpoint and load_checkpoint of one process (rank 0's part with replicas).
  void save_checkpoint_file(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata);
  void load_checkpoint_file(const std::filesystem::path& path);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t epoch_ = 0;
  uint32_t steps_per_submit_ = 0;
};

/// Makes every replica's model (parameters, buffers, training_state()) and, when given, optimizer
/// state root's, in one ReplicaGroup::broadcast, so replicas that initialised differently start
/// identical (the Trainer does it at construction and in load_checkpoint). Then root's weight masks
/// (two more broadcasts): each Linear's mask is set to root's, or removed where root has none. Collective and
/// synchronous. InvalidArgument on every replica, nothing changed, when the models or optimizers differ between
/// replicas in names, dtypes or shapes, or root is not a replica.
void broadcast_state(ReplicaGroup& group, Sequential& model, Optimizer* optimizer = nullptr, int root = 0);

/// The model's state_dict in a Trainer::save_checkpoint() file: every tensor whose name does not
/// start with "vkgrad.", for Sequential::load_state_dict (e.g. to evaluate a checkpoint without
/// its optimizer). A file holding only a state_dict gives all of it. Throws InvalidArgument for a
/// missing or corrupt file, as load_safetensors.
std::vector<std::pair<std::string, HostTensor>> load_checkpoint_model_state(const std::filesystem::path& path);

}  // namespace vkgrad::nn
