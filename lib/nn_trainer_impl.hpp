// nn::Trainer's state (Trainer::Impl), shared by its two sources: lib/nn_trainer.cpp (recording
// and running the steps, the public member functions) and lib/nn_trainer_checks.cpp (the checks
// before any work and the check_finite error report). See lib/nn_trainer.cpp for how a step runs.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vkgrad/data.hpp"
#include "vkgrad/metrics.hpp"
#include "vkgrad/nn.hpp"

#include "nn_replica.hpp"

namespace vkgrad::nn {

struct Trainer::Impl {
  // Device tensors of one batch size: class labels and predictions for a class-index loss, f32
  // targets (rows, outputs) for the others.
  struct BatchTensors {
    Tensor index, x, labels, targets, logits, loss, predictions, dlogits;
    BatchTensors(Context& ctx, uint64_t rows, uint64_t features, uint64_t outputs, TargetKind kind)
        : index(ctx, {rows}, DType::i32), x(ctx, {rows, features}), logits(ctx, {rows, outputs}), loss(ctx, {1}) {
      if (kind == TargetKind::class_indices) {
        labels = Tensor(ctx, {rows}, DType::i32);
        predictions = Tensor(ctx, {rows}, DType::i32);
      } else {
        targets = Tensor(ctx, {rows, outputs});
      }
      dlogits = Tensor(ctx, {rows, outputs});
    }
    // What the loss compares the output with.
    const Tensor& target(TargetKind kind) const { return kind == TargetKind::class_indices ? labels : targets; }
  };

  // Which figures of the totals a loss reports (see Metrics).
  enum class MetricKind { classes, regression, multi_label };
  static MetricKind metric_kind_of(const Loss& loss);
  // totals: accumulate_metrics' 4 floats (classes) or accumulate_value_metrics' 8; `width` values
  // per sample.
  static Metrics to_metrics(const std::vector<float>& totals, MetricKind kind, uint64_t width);

  // Rows of one replica in one step: [first_row, first_row + rows) of a global batch of global_rows.
  struct Slice {
    uint64_t rows, first_row, global_rows;
  };

  // Replica `rank` of `replicas`' part of a global batch of `global_rows`: as even as possible, the
  // first global_rows mod replicas replicas one row more.
  static Slice slice_of(uint64_t global_rows, int rank, int replicas) {
    const uint64_t n = static_cast<uint64_t>(replicas), r = static_cast<uint64_t>(rank);
    const uint64_t base = global_rows / n, extra = global_rows % n;
    return {base + (r < extra ? 1 : 0), r * base + std::min(r, extra), global_rows};
  }

  Context& ctx;
  Sequential& model;
  Loss& loss;
  Optimizer& optimizer;
  TrainerOptions options;
  TargetKind target_kind;
  MetricKind metric_kind;
  // The model's outputs per sample: the classes, or the width of the targets.
  uint64_t classes = 0;

  Tensor cursor, totals;
  // The training permutation and, for evaluation, the identity; each sized for its dataset.
  Tensor train_perm, eval_perm;
  std::map<uint64_t, BatchTensors> batches;
  // Recorded lists, keyed by (dataset images and labels / targets buffers, rows per step, steps per
  // list); re-recorded when another dataset is passed.
  struct ListKey {
    const void* data;
    const void* target;
    uint64_t rows, global_rows;
    uint32_t steps;
    bool train;
    auto operator<=>(const ListKey&) const = default;
  };
  std::map<ListKey, CommandList> lists;
  // Sparsity measured per evaluation batch size, one per Activation layer.
  std::map<uint64_t, std::vector<std::pair<std::size_t, ActivationSparsity>>> sparsity;
  std::vector<LayerSparsity> sparsity_result;
  // check_finite: slot 0 is the input batch, slot 1 + i the output of module i, the last the loss.
  Tensor finite_status;
  // Data-parallel training: the replicas (null alone), this one's rank and their count.
  ReplicaGroup* group;
  int rank = 0, replicas = 1;
  // The gradient averaging, planned when the first training step is recorded.
  std::unique_ptr<replica::GradientSync> sync;
  // Which weight masks the recorded lists read (masks::signature).
  std::vector<const void*> mask_signature;

  Impl(Context& c, Sequential& m, Loss& l, Optimizer& o, TrainerOptions opt);

  // This replica's totals, or (reduce, with replicas: collective) the sums of every replica's.
  Metrics read_metrics(bool reduce = false) const;

  // The dataset's tensor the loss compares the output with.
  const Tensor& dataset_target(const DeviceDataset& data) const {
    return target_kind == TargetKind::class_indices ? data.labels : data.targets;
  }

  BatchTensors& batch_tensors(uint64_t rows, uint64_t features) {
    auto it = batches.find(rows);
    if (it == batches.end()) it = batches.emplace(rows, BatchTensors(ctx, rows, features, classes, target_kind)).first;
    return it->second;
  }

  // Rows per full batch of this replica.
  uint64_t local_batch() const { return options.batch / static_cast<uint64_t>(replicas); }

  // The weight of a replica's gradients in their sum across replicas: mean losses average each
  // replica's mean weighted by its share of the rows; sums add.
  double gradient_weight(const Slice& slice) const {
    return loss.reduction() == Reduction::sum ? 1.0 : double(slice.rows) / double(slice.global_rows);
  }

  // Recording (lib/nn_trainer.cpp).

  // Records what training and evaluation share: the batch at the cursor from `perm` → gather and
  // normalise → forward → loss → argmax → metrics. Returns the batch's tensors.
  // `stride`: rows per full batch in `perm` (this replica's when training with replicas).
  BatchTensors& record_forward(CommandList& cmd, const DeviceDataset& data, const Tensor& perm, uint64_t rows,
                               uint64_t stride);
  // Records one training step of this replica's slice: forward as above → backward → (with
  // replicas) the gradient averaging → update → counters. A replica without rows in this step
  // records only the averaging, its contribution zero, and what follows.
  void record_train_step(CommandList& cmd, const DeviceDataset& data, const Slice& slice);
  void record_eval_step(CommandList& cmd, const DeviceDataset& data, uint64_t rows);
  // The list of `steps` steps of `global_rows` rows (this replica's slice of them when training
  // with replicas; evaluation runs every row on every replica).
  CommandList& list(const DeviceDataset& data, uint64_t global_rows, uint32_t steps, bool train);
  // Uploads a permutation of [0, count) into `perm`. A new size needs a new tensor, and the lists
  // recorded with the old one (train or eval ones) are dropped so none reads a stale permutation.
  void upload_permutation(Tensor& perm, uint64_t count, const std::vector<int32_t>& order, bool train);

  // Checks (lib/nn_trainer_checks.cpp).

  // The dataset against the loss and the model (InvalidArgument naming `where`); sets `classes`;
  // drops the recorded lists when the masks changed; (re)creates the check_finite status tensor.
  void check_dataset(const DeviceDataset& data, std::string_view where);
  // train_epoch's checks before any work: the dataset, drop_last, and BatchNorm's refusal of one
  // row (a last batch of one row, or with replicas a replica's slice of one row).
  void check_epoch(const DeviceDataset& data);
  // Reads the check_finite status and throws NonFiniteError if a loss was non-finite. `order`
  // maps batch positions to dataset rows; `unchecked_steps` is how many steps ran after the
  // checked ones at most (steps per submission − 1), for the message.
  void check_finite(const DeviceDataset& data, bool training, uint64_t epoch, const std::vector<int32_t>* order,
                    uint64_t unchecked_steps);
  // The end of the input-batch message: the first non-finite pixel of that batch in an f32
  // dataset (downloaded for this), or why there is none.
  std::string input_culprit(const DeviceDataset& data, uint64_t step, const std::vector<int32_t>* order);
  // The labels are checked on the host before any work: on the device an out-of-range label only
  // shows after the step ran, when its NaN gradient has already reached the parameters.
  void check_labels(const DeviceDataset& data, std::string_view where) const;
  // f32 targets, one row of values per sample: checked on the host before any work, as labels.
  void check_target_shape(const DeviceDataset& data, const std::string& at) const;
  // After the model's outputs are known: the targets' width matches them, every value is finite (a
  // NaN or inf target would only show as a non-finite loss after its update was applied).
  void check_target_values(const DeviceDataset& data, const std::string& at) const;
};

}  // namespace vkgrad::nn
