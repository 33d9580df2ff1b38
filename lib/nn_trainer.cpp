// nn::Trainer: one training step recorded into a command list once and replayed for every batch.
//
// Everything a step needs that changes between batches lives on the device: the epoch's permutation
// (uploaded once per epoch), the batch cursor (advanced by the step itself), the optimizer's and the
// model's step counters, and the loss / accuracy totals. So the host's work per submission is one
// vkQueueSubmit and a fence wait, and K steps can share a submission.
//
// check_finite: every step also records nonfinite_check (lib/nonfinite.hpp) over the input batch,
// every module's output and the loss, which stamps the batch number into a small status tensor on
// the device and freezes it at the first step whose loss is non-finite. The host reads that tensor
// once per training submission (after the fence wait it does anyway) and once per evaluation.
//
// Data-parallel training (TrainerOptions::replicas): each replica records its slice of every
// global batch (its own permutation holds its slices one after the other, so select_batch's stride
// is the replica's rows), and the step averages the gradients in a host step between backward and
// the optimizer (replica::GradientSync). After each submission the replicas exchange their metric
// totals and check_finite status, so every replica reports and throws alike.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "vkgrad/data.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/metrics.hpp"
#include "vkgrad/nn.hpp"
#include "vkgrad/reduce.hpp"

#include "nn_mask.hpp"
#include "nn_replica.hpp"
#include "nn_state.hpp"
#include "nonfinite.hpp"

namespace vkgrad::nn {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

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

MetricKind metric_kind_of(const Loss& loss) {
  if (loss.target_kind() == TargetKind::class_indices) return MetricKind::classes;
  const auto* elementwise = dynamic_cast<const ElementwiseLoss*>(&loss);
  return elementwise && elementwise->kind() == PointwiseLossKind::bce_with_logits ? MetricKind::multi_label
                                                                                  : MetricKind::regression;
}

// totals: accumulate_metrics' 4 floats (classes) or accumulate_value_metrics' 8; `width` values
// per sample.
Metrics to_metrics(const std::vector<float>& totals, MetricKind kind, uint64_t width) {
  Metrics m;
  m.samples = static_cast<uint64_t>(totals[2]);
  if (m.samples) {
    m.loss = double(totals[0]) / double(m.samples);
    const double elements = double(m.samples) * double(width);
    if (kind == MetricKind::classes) {
      m.accuracy = double(totals[1]) / double(m.samples);
    } else if (kind == MetricKind::multi_label) {
      m.accuracy = double(totals[1]) / elements;
    } else {
      m.mse = double(totals[4]) / elements;
      m.mae = double(totals[6]) / elements;
    }
  }
  return m;
}

std::string float_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s << v;
  return s.str();
}

// Rows of one replica in one step: [first_row, first_row + rows) of a global batch of global_rows.
struct Slice {
  uint64_t rows, first_row, global_rows;
};

// Replica `rank` of `replicas`' part of a global batch of `global_rows`: as even as possible, the
// first global_rows mod replicas replicas one row more.
Slice slice_of(uint64_t global_rows, int rank, int replicas) {
  const uint64_t n = static_cast<uint64_t>(replicas), r = static_cast<uint64_t>(rank);
  const uint64_t base = global_rows / n, extra = global_rows % n;
  return {base + (r < extra ? 1 : 0), r * base + std::min(r, extra), global_rows};
}

}  // namespace

struct Trainer::Impl {
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

  Impl(Context& c, Sequential& m, Loss& l, Optimizer& o, TrainerOptions opt)
      : ctx(c),
        model(m),
        loss(l),
        optimizer(o),
        options(opt),
        target_kind(l.target_kind()),
        metric_kind(metric_kind_of(l)),
        cursor(c, {1}, DType::i32),
        totals(c, {target_kind == TargetKind::class_indices ? 4u : 8u}),
        group(opt.replicas) {
    if (group != nullptr) {
      rank = group->rank();
      replicas = group->size();
    }
  }

  // This replica's totals, or (reduce, with replicas: collective) the sums of every replica's.
  Metrics read_metrics(bool reduce = false) const {
    std::vector<float> values = totals.to_vector();
    if (reduce && group != nullptr) group->allreduce_sum(values);
    return to_metrics(values, metric_kind, classes);
  }

  // The dataset's tensor the loss compares the output with.
  const Tensor& dataset_target(const DeviceDataset& data) const {
    return target_kind == TargetKind::class_indices ? data.labels : data.targets;
  }

  BatchTensors& batch_tensors(uint64_t rows, uint64_t features) {
    auto it = batches.find(rows);
    if (it == batches.end()) it = batches.emplace(rows, BatchTensors(ctx, rows, features, classes, target_kind)).first;
    return it->second;
  }

  // Records what training and evaluation share: the batch at the cursor from `perm` → gather and
  // normalise → forward → loss → argmax → metrics. Returns the batch's tensors.
  // `stride`: rows per full batch in `perm` (this replica's when training with replicas).
  BatchTensors& record_forward(CommandList& cmd, const DeviceDataset& data, const Tensor& perm, uint64_t rows,
                               uint64_t stride) {
    BatchTensors& b = batch_tensors(rows, data.features());
    select_batch(cmd, perm, cursor, static_cast<uint32_t>(stride), b.index);
    gather_rows(cmd, data.images, b.index, b.x, data.effective_scale(), data.shift);
    if (target_kind == TargetKind::class_indices) {
      gather_labels(cmd, data.labels, b.index, b.labels);
    } else {
      gather_rows(cmd, data.targets, b.index, b.targets);
    }
    model.forward(cmd, b.x, b.logits);
    loss.forward(cmd, b.logits, b.target(target_kind), b.loss);
    if (target_kind == TargetKind::class_indices) argmax_rows(cmd, b.logits, b.predictions);
    if (options.check_finite) {
      std::vector<const Tensor*> checked{&b.x};
      for (std::size_t i = 0; i + 1 < model.size(); ++i) checked.push_back(&model.activation(rows, i));
      checked.push_back(&b.logits);
      checked.push_back(&b.loss);
      detail::record_nonfinite_check(cmd, checked, checked.size() - 1, cursor, finite_status);
    }
    const bool loss_is_sum = loss.reduction() == Reduction::sum;
    if (target_kind == TargetKind::class_indices) {
      accumulate_metrics(cmd, b.loss, b.predictions, b.labels, totals, loss_is_sum);
    } else {
      accumulate_value_metrics(cmd, b.loss, b.logits, b.targets, totals, loss_is_sum);
    }
    return b;
  }

  // Rows per full batch of this replica.
  uint64_t local_batch() const { return options.batch / static_cast<uint64_t>(replicas); }

  // Records one training step of this replica's slice: forward as above → backward → (with
  // replicas) the gradient averaging → update → counters. A replica without rows in this step
  // records only the averaging, its contribution zero, and what follows.
  // The weight of a replica's gradients in their sum across replicas: mean losses average each
  // replica's mean weighted by its share of the rows; sums add.
  double gradient_weight(const Slice& slice) const {
    return loss.reduction() == Reduction::sum ? 1.0 : double(slice.rows) / double(slice.global_rows);
  }

  void record_train_step(CommandList& cmd, const DeviceDataset& data, const Slice& slice) {
    if (slice.rows > 0) {
      BatchTensors& b = record_forward(cmd, data, train_perm, slice.rows, local_batch());
      loss.backward(cmd, b.logits, b.target(target_kind), b.dlogits);
      Tensor no_input_gradient;
      model.backward(cmd, b.x, b.logits, b.dlogits, no_input_gradient);
    }
    if (group != nullptr) {
      if (!sync) sync = std::make_unique<replica::GradientSync>(ctx, *group, model, options.bucket_bytes);
      sync->record(cmd, slice.rows > 0, static_cast<float>(gradient_weight(slice)));
    }
    optimizer.record_step(cmd);
    optimizer_advance_step(cmd, cursor);
    optimizer_advance_step(cmd, model.step_counter());
  }

  void record_eval_step(CommandList& cmd, const DeviceDataset& data, uint64_t rows) {
    record_forward(cmd, data, eval_perm, rows, options.batch);
    if (options.measure_sparsity) {
      auto& meters = sparsity[rows];
      if (meters.empty()) {
        uint64_t f = data.features();
        for (std::size_t i = 0; i + 1 < model.size(); ++i) {
          f = model[i].output_features(f);
          if (dynamic_cast<Activation*>(&model[i])) meters.emplace_back(i, ActivationSparsity(ctx, rows, f));
        }
      }
      for (auto& [layer, meter] : meters) meter.record(cmd, model.activation(rows, layer), options.sparsity_eps);
    }
    optimizer_advance_step(cmd, cursor);
  }

  // The list of `steps` steps of `global_rows` rows (this replica's slice of them when training
  // with replicas; evaluation runs every row on every replica).
  CommandList& list(const DeviceDataset& data, uint64_t global_rows, uint32_t steps, bool train) {
    const Slice slice =
        train && group != nullptr ? slice_of(global_rows, rank, replicas) : Slice{global_rows, 0, global_rows};
    const ListKey key{&data.images.buffer(), &dataset_target(data).buffer(), slice.rows, global_rows, steps, train};
    auto it = lists.find(key);
    if (it != lists.end()) return it->second;
    CommandList cmd(ctx);
    {
      state::ModeWhileRecording mode(model, train);
      // Where these rows sit in the global batch (Dropout's masks, SyncBatchNorm's reductions);
      // cleared after recording, so passes recorded outside the trainer run alone.
      model.set_replica_rows(ReplicaRows{train ? group : nullptr, slice.first_row, global_rows,
                                         slice.rows == 0 ? 0.0 : gradient_weight(slice)});
      try {
        for (uint32_t s = 0; s < steps; ++s) {
          if (train) {
            record_train_step(cmd, data, slice);
          } else {
            record_eval_step(cmd, data, global_rows);
          }
        }
      } catch (...) {
        model.set_replica_rows(ReplicaRows{});
        throw;
      }
      model.set_replica_rows(ReplicaRows{});
    }
    return lists.emplace(key, std::move(cmd)).first->second;
  }

  void check_dataset(const DeviceDataset& data, std::string_view where) {
    const std::string at = "vkgrad: " + std::string(where) + ": ";
    if (data.images.empty() || data.count() == 0) throw InvalidArgument(at + "the dataset is empty");
    if (target_kind == TargetKind::class_indices) {
      if (data.labels.empty()) {
        throw InvalidArgument(at + loss.to_string() + " needs class labels (DeviceDataset::labels, u8 or i32), " +
                              (data.targets.empty() ? "but the dataset has none"
                                                    : "but the dataset has only f32 targets: train on those with "
                                                      "MSELoss, L1Loss, SmoothL1Loss or BCEWithLogitsLoss"));
      }
      if (data.labels.numel() != data.count()) {
        throw InvalidArgument(at + std::to_string(data.count()) + " images but " + std::to_string(data.labels.numel()) +
                              " labels");
      }
    } else {
      check_target_shape(data, at);
    }
    if (data.count() > 0x7fffffff) throw InvalidArgument(at + "more than 2^31 - 1 samples");
    const uint64_t out = model.output_features(data.features());
    if (classes != 0 && out != classes) throw InvalidArgument(at + "model output changed");
    classes = out;
    if (target_kind == TargetKind::class_indices) {
      check_labels(data, where);
    } else {
      check_target_values(data, at);
    }
    // A mask set or removed since the lists were recorded: record them again (new mask values
    // need nothing, the lists read them when they run).
    if (std::vector<const void*> masks = masks::signature(model); masks != mask_signature) {
      lists.clear();
      mask_signature = std::move(masks);
    }
    if (options.check_finite &&
        (finite_status.empty() || finite_status.numel() != detail::kNonFiniteHeader + model.size() + 2)) {
      lists.clear();  // they were recorded with the old status tensor
      finite_status = detail::make_nonfinite_status(ctx, model.size() + 2);
    }
  }

  // train_epoch's checks before any work: the dataset, drop_last, and BatchNorm's refusal of one
  // row (a last batch of one row, or with replicas a replica's slice of one row).
  void check_epoch(const DeviceDataset& data) {
    check_dataset(data, "Trainer::train_epoch");
    const uint64_t count = data.count(), batch = options.batch;
    if (options.drop_last && count < batch) {
      throw InvalidArgument("vkgrad: Trainer::train_epoch: drop_last with " + std::to_string(count) +
                            " samples in batches of " + std::to_string(batch) +
                            " leaves no batch to train on; choose a smaller batch or set drop_last = false");
    }
    const uint64_t full = count / batch, tail = options.drop_last ? 0 : count % batch;
    // The first replica's slice of the last batch is the largest, the last one's the smallest.
    bool one_row =
        tail > 0 && (slice_of(tail, 0, replicas).rows == 1 || slice_of(tail, replicas - 1, replicas).rows == 1);
    if (replicas == 1) one_row = one_row && count > 1;
    if (replicas > 1 && full > 0 && local_batch() == 1) one_row = true;
    // A replica without rows of the last batch would not take part in SyncBatchNorm's exchanges.
    if (replicas > 1 && tail > 0 && tail < static_cast<uint64_t>(replicas)) {
      for (std::size_t i = 0; i < model.size(); ++i) {
        if (dynamic_cast<SyncBatchNorm*>(&model[i]) != nullptr) {
          throw InvalidArgument("vkgrad: Trainer: the last batch of " + std::to_string(tail) +
                                " rows leaves some of the " + std::to_string(replicas) +
                                " replicas no row, and SyncBatchNorm needs every replica in each step; set drop_last "
                                "or choose a batch size that leaves at least one row per replica");
        }
      }
    }
    // SyncBatchNorm normalises over the global batch: only a global batch of one row stops it.
    const bool global_one_row = tail == 1 && count > 1;
    if (!one_row && !global_one_row) return;
    bool refused = false;
    for (std::size_t i = 0; i < model.size(); ++i) {
      if (dynamic_cast<SyncBatchNorm*>(&model[i]) != nullptr) {
        refused |= global_one_row;
      } else if (dynamic_cast<BatchNorm1d*>(&model[i]) != nullptr) {
        refused |= one_row;
      }
    }
    if (refused) {
      throw InvalidArgument("vkgrad: Trainer: " + std::to_string(count) + " samples in batches of " +
                            std::to_string(batch) +
                            (replicas > 1 && !global_one_row
                                 ? " across " + std::to_string(replicas) + " replicas give a replica a batch of 1 row"
                                 : std::string(" leave a last batch of 1 row")) +
                            ", which BatchNorm1d cannot train on; choose another batch size");
    }
  }

  // Reads the check_finite status and throws NonFiniteError if a loss was non-finite. `order`
  // maps batch positions to dataset rows; `unchecked_steps` is how many steps ran after the
  // checked ones at most (steps per submission − 1), for the message.
  void check_finite(const DeviceDataset& data, bool training, uint64_t epoch, const std::vector<int32_t>* order,
                    uint64_t unchecked_steps) {
    if (!options.check_finite) return;
    const detail::NonFiniteStatus status = detail::read_nonfinite_status(finite_status);
    int64_t first_step = status.step, slot = status.first_slot();
    float loss_value = status.loss;
    if (training && group != nullptr) {
      // Every replica reports the first step (the lowest rank's at a tie) that met a non-finite
      // loss on any replica, so every replica throws the same error and none waits for the others.
      const int64_t mine[] = {first_step, slot, std::bit_cast<int32_t>(loss_value)};
      const std::vector<int64_t> all = replica::gather(*group, mine);
      first_step = 0;
      for (std::size_t r = 0; r < all.size(); r += 3) {
        if (all[r] == 0 || (first_step != 0 && all[r] >= first_step)) continue;
        first_step = all[r];
        slot = all[r + 1];
        loss_value = std::bit_cast<float>(static_cast<int32_t>(all[r + 2]));
      }
    }
    if (first_step == 0) return;
    loss.check_targets();  // a label outside the classes also makes the loss NaN: report that instead
    const uint64_t count = data.count(), batch = options.batch;
    // Training with drop_last runs only the full batches; evaluation runs every sample.
    const uint64_t batches = training && options.drop_last ? count / batch : (count + batch - 1) / batch;
    const uint64_t step = static_cast<uint64_t>(first_step);
    const int64_t module = slot == 0                                                 ? NonFiniteError::input_batch
                           : slot >= 1 && slot <= static_cast<int64_t>(model.size()) ? slot - 1
                                                                                     : NonFiniteError::loss_only;
    std::string msg = std::string("vkgrad: Trainer::") + (training ? "train_epoch" : "evaluate") + ": the loss was " +
                      float_text(loss_value) + " at " +
                      (training ? "epoch " + std::to_string(epoch) + ", batch " : "evaluation batch ") +
                      std::to_string(step) + " of " + std::to_string(batches) + " (check_finite). ";
    if (module == NonFiniteError::input_batch) {
      msg += "The input batch itself (pixel · scale + shift, before the first module) held a non-finite value" +
             input_culprit(data, step, order);
    } else if (module >= 0) {
      msg += "The first non-finite values of that step were in the output of module " + std::to_string(module) + " (" +
             model[static_cast<std::size_t>(module)].to_string() + "); its input was finite. " +
             (training ? "The training diverged or that module's parameters were not finite: lower the learning "
                         "rate, or check the parameters loaded into it."
                       : "That module's parameters are not finite or too large (a diverged run or a bad checkpoint?).");
    } else {
      msg +=
          "The input and every module's output were finite, but the loss overflowed: the logits are too large "
          "(lower the learning rate or check the parameters of the last module).";
    }
    if (training) {
      msg += " The update of that batch";
      if (unchecked_steps > 0) msg += " (and of up to " + std::to_string(unchecked_steps) + " more submitted with it)";
      msg +=
          " has already been applied, so the parameters and optimizer state are probably no longer finite: "
          "reload the last checkpoint before training again.";
    }
    throw NonFiniteError(msg, training, epoch, step, module);
  }

  // The end of the input-batch message: the first non-finite pixel of that batch in an f32
  // dataset (downloaded for this), or why there is none.
  std::string input_culprit(const DeviceDataset& data, uint64_t step, const std::vector<int32_t>* order) {
    const std::string transform = "scale " + float_text(data.effective_scale()) + ", shift " + float_text(data.shift);
    if (data.images.dtype() != DType::f32) {
      return ", although u8 pixels are finite: the normalisation (" + transform + ") is not finite or overflows.";
    }
    const std::vector<float> images = data.images.to_vector<float>();
    const uint64_t features = data.features(), count = data.count(), batch = options.batch;
    for (uint64_t pos = (step - 1) * batch; pos < std::min(count, step * batch); ++pos) {
      const uint64_t row = order ? static_cast<uint64_t>((*order)[pos]) : pos;
      for (uint64_t f = 0; f < features; ++f) {
        const float v = images[row * features + f];
        if (!std::isfinite(v)) {
          return ": row " + std::to_string(row) + " of the dataset, feature " + std::to_string(f) + ", is " +
                 float_text(v) + ". Check the dataset (and how it was converted to f32).";
        }
      }
    }
    return ", but no pixel of that batch is: pixel · scale + shift overflows (" + transform + ").";
  }

  // The labels are checked on the host before any work: on the device an out-of-range label only
  // shows after the step ran, when its NaN gradient has already reached the parameters.
  void check_labels(const DeviceDataset& data, std::string_view where) const {
    std::vector<int32_t> values;
    if (data.labels.dtype() == DType::u8) {
      const auto bytes = data.labels.to_vector<uint8_t>();
      values.assign(bytes.begin(), bytes.end());
    } else if (data.labels.dtype() == DType::i32) {
      values = data.labels.to_vector<int32_t>();
    } else {
      throw InvalidArgument("vkgrad: " + std::string(where) + ": labels must be u8 or i32, got " +
                            to_string(data.labels.dtype()));
    }
    const int32_t ignore = loss.ignore_index();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int32_t v = values[i];
      if (v == ignore || (v >= 0 && uint64_t(v) < classes)) continue;
      throw InvalidArgument("vkgrad: " + std::string(where) + ": sample " + std::to_string(i) + " has label " +
                            std::to_string(v) + ", outside [0, " + std::to_string(classes) +
                            ") (the model's outputs) and not ignore_index " + std::to_string(ignore) +
                            "; nothing was trained or evaluated");
    }
  }

  // f32 targets, one row of values per sample: checked on the host before any work, as labels.
  void check_target_shape(const DeviceDataset& data, const std::string& at) const {
    if (data.targets.empty()) {
      throw InvalidArgument(at + loss.to_string() + " needs f32 targets (DeviceDataset::targets, (count, outputs)), " +
                            (data.labels.empty() ? "but the dataset has none"
                                                 : "but the dataset has only class labels: train on those with "
                                                   "CrossEntropyLoss or NLLLoss"));
    }
    if (data.targets.dtype() != DType::f32) {
      throw InvalidArgument(at + "targets must be f32, got " + to_string(data.targets.dtype()) +
                            " (class indices go into DeviceDataset::labels, for CrossEntropyLoss or NLLLoss)");
    }
    if (data.targets.shape().rank() != 2 || data.targets.shape()[0] != data.count()) {
      throw InvalidArgument(at + "targets " + data.targets.shape().to_string() +
                            " must be (count, outputs) with count " + std::to_string(data.count()) +
                            ", the number of samples (reshape a (count) tensor to " + "(count, 1))");
    }
  }

  // After the model's outputs are known: the targets' width matches them, every value is finite (a
  // NaN or inf target would only show as a non-finite loss after its update was applied).
  void check_target_values(const DeviceDataset& data, const std::string& at) const {
    const uint64_t width = data.targets.shape()[1];
    if (width != classes) {
      throw InvalidArgument(at + "targets have " + std::to_string(width) + " values per sample but the model has " +
                            std::to_string(classes) + " outputs");
    }
    const std::vector<float> values = data.targets.to_vector<float>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (std::isfinite(values[i])) continue;
      throw InvalidArgument(at + "target of sample " + std::to_string(i / width) + ", column " +
                            std::to_string(i % width) + " is " + float_text(values[i]) +
                            "; every target must be finite. Nothing was trained or evaluated");
    }
  }

  // Uploads a permutation of [0, count) into `perm`. A new size needs a new tensor, and the lists
  // recorded with the old one (train or eval ones) are dropped so none reads a stale permutation.
  void upload_permutation(Tensor& perm, uint64_t count, const std::vector<int32_t>& order, bool train) {
    if (perm.empty() || perm.numel() != count) {
      std::erase_if(lists, [&](const auto& entry) { return entry.first.train == train; });
      perm = Tensor(ctx, {count}, DType::i32);
    }
    perm.upload<int32_t>(order);
  }
};

Trainer::Trainer(Context& context, Sequential& model, Loss& loss, Optimizer& optimizer, TrainerOptions options)
    : impl_(std::make_unique<Impl>(context, model, loss, optimizer, options)) {
  std::string error;
  if (options.batch == 0 || options.batch > 0x7fffffff) {
    error = "vkgrad: Trainer: batch must be in [1, 2^31), got " + std::to_string(options.batch);
  } else if (loss.reduction() == Reduction::none) {
    error = "vkgrad: Trainer: " + loss.to_string() +
            " has reduction='none', but a training step needs a scalar loss: use reduction mean (the default) or sum";
  }
  ReplicaGroup* group = options.replicas;
  if (group == nullptr) {
    if (!error.empty()) throw InvalidArgument(error);
  } else {
    const auto n = static_cast<uint64_t>(group->size());
    if (error.empty() && options.batch % n != 0) {
      error = "vkgrad: Trainer: the batch " + std::to_string(options.batch) +
              " is the global batch, split evenly "
              "across the " +
              std::to_string(n) + " replicas, so it must be a multiple of " + std::to_string(n) +
              ": choose a batch of " + std::to_string(std::max<uint64_t>(n, options.batch / n * n)) +
              " or another multiple of the replica count";
    }
    if (error.empty() && options.bucket_bytes == 0) error = "vkgrad: Trainer: bucket_bytes must be > 0";
    // Every replica records the same steps and makes the same collective calls in the same order.
    const int64_t summary[] = {
        static_cast<int64_t>(options.batch),        static_cast<int64_t>(options.steps_per_submit),
        static_cast<int64_t>(options.bucket_bytes), int64_t{options.drop_last} * 2 + int64_t{options.check_finite},
        replica::hash(model.to_string()),           replica::hash(loss.to_string()),
        replica::hash(optimizer.to_string())};
    replica::agree(*group, summary, error, "Trainer",
                   "the options (batch, steps_per_submit, bucket_bytes, drop_last, check_finite), model, loss or "
                   "optimizer");
    // Rank 0's state and shuffle seed, so replicas that initialised differently cannot diverge.
    broadcast_state(*group, model, &optimizer, 0);
    impl_->options.seed = replica::broadcast_u64(*group, options.seed, 0);
  }
  steps_per_submit_ = options.steps_per_submit;
}

Trainer::~Trainer() = default;

Metrics Trainer::train_epoch(const DeviceDataset& data, const ProgressFn& progress, double progress_interval_ms) {
  Impl& m = *impl_;
  const uint64_t batch = m.options.batch;
  // The checks before any work; with replicas every replica learns whether any refused, so that
  // none waits for the others (a dataset that differs between replicas is refused too).
  std::string error;
  try {
    m.check_epoch(data);
  } catch (const InvalidArgument& e) {
    if (m.group == nullptr) throw;
    error = e.what();
  }
  if (m.group != nullptr) {
    const int64_t summary[] = {static_cast<int64_t>(data.count()), static_cast<int64_t>(data.features()),
                               static_cast<int64_t>(epoch_)};
    replica::agree(*m.group, summary, error, "Trainer::train_epoch",
                   "the datasets (sample or feature counts) or epochs done");
  }
  // Training changes the weights: compressed ones (and eval lists recorded over them) go stale.
  if (drop_compressed_weights(m.model) > 0) m.lists.clear();
  const uint64_t count = data.count();
  const uint64_t full = count / batch, tail = m.options.drop_last ? 0 : count % batch;
  // The epoch's shuffle: a function of (seed, epoch) only, so a resumed run repeats it, and every
  // replica draws the same one.
  std::vector<int32_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(m.options.seed * 0x9E3779B97F4A7C15ull + epoch_ + 1);
  std::shuffle(order.begin(), order.end(), rng);
  if (m.group == nullptr) {
    m.upload_permutation(m.train_perm, count, order, true);
  } else {
    // This replica's slices of every global batch, one after the other (select_batch's stride is
    // its rows per full batch); at least one entry, so a replica with no rows has a tensor too.
    std::vector<int32_t> mine;
    const uint64_t local = m.local_batch();
    for (uint64_t b = 0; b < full; ++b) {
      const auto first = order.begin() + std::ptrdiff_t(b * batch + uint64_t(m.rank) * local);
      mine.insert(mine.end(), first, first + std::ptrdiff_t(local));
    }
    const Slice last = slice_of(tail, m.rank, m.replicas);
    const auto first = order.begin() + std::ptrdiff_t(full * batch + last.first_row);
    mine.insert(mine.end(), first, first + std::ptrdiff_t(last.rows));
    if (mine.empty()) mine.push_back(-1);
    m.upload_permutation(m.train_perm, mine.size(), mine, true);
  }
  m.cursor.fill(0.0f);
  m.totals.fill(0.0f);
  if (m.options.check_finite) m.finite_status.fill(0.0f);
  const uint64_t epoch = epoch_ + 1;

  const uint64_t used = full * batch + tail;  // samples trained on this epoch
  uint64_t done = 0;
  auto t_report = Clock::now();
  // After every submission: with replicas, every replica learns the totals of all (collective, so
  // made whether or not this replica reports progress); the callback runs at most every interval.
  auto report = [&](uint64_t samples) {
    if (m.group != nullptr) {
      const Metrics running = m.read_metrics(true);
      if (progress && (ms_since(t_report) >= progress_interval_ms || samples == used)) {
        progress(samples, used, running);
        t_report = Clock::now();
      }
    } else if (progress && (ms_since(t_report) >= progress_interval_ms || samples == used)) {
      progress(samples, used, m.read_metrics());
      t_report = Clock::now();
    }
  };
  while (done < full) {
    uint32_t k = steps_per_submit_;
    if (k == 0) {
      // Not chosen yet: time one single-step submission (the list is already recorded and its
      // pipelines exist after the first run, so time the second) and size K to the target.
      CommandList& one = m.list(data, batch, 1, true);
      one.run();
      m.check_finite(data, true, epoch, &order, 0);
      ++done;
      report(done * batch);
      if (done >= full) break;
      const auto t0 = Clock::now();
      one.run();
      ++done;
      const double step_ms = std::max(ms_since(t0), 1e-3);
      m.check_finite(data, true, epoch, &order, 0);
      steps_per_submit_ = static_cast<uint32_t>(std::clamp(m.options.target_submit_ms / step_ms, 1.0, 256.0));
      // Replicas submit the same steps together: rank 0's choice.
      if (m.group != nullptr) {
        steps_per_submit_ = static_cast<uint32_t>(replica::broadcast_u64(*m.group, steps_per_submit_, 0));
      }
      report(done * batch);
      continue;
    }
    if (full - done < k) k = 1;  // the remainder runs one step at a time
    m.list(data, batch, k, true).run();
    m.check_finite(data, true, epoch, &order, k - 1);
    done += k;
    report(done * batch);
  }
  if (tail) {
    m.list(data, tail, 1, true).run();
    m.check_finite(data, true, epoch, &order, 0);
  }
  const Metrics result = m.read_metrics(true);
  if (progress) progress(used, used, result);
  m.loss.check_targets();
  // BatchNorm's running statistics are each replica's own: rank 0's become everyone's, so that
  // evaluation and checkpoints agree on every replica (the parameters are identical already).
  if (m.group != nullptr && !m.model.buffers().empty()) broadcast_state(*m.group, m.model, nullptr, 0);
  ++epoch_;
  return result;
}

Metrics Trainer::evaluate(const DeviceDataset& data) {
  Impl& m = *impl_;
  m.check_dataset(data, "Trainer::evaluate");
  const uint64_t count = data.count(), batch = m.options.batch;
  if (m.eval_perm.empty() || m.eval_perm.numel() != count) {
    std::vector<int32_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    m.upload_permutation(m.eval_perm, count, order, false);
  }
  m.cursor.fill(0.0f);
  m.totals.fill(0.0f);
  if (m.options.check_finite) m.finite_status.fill(0.0f);
  m.sparsity_result.clear();
  std::map<std::size_t, LayerSparsity> acc;
  auto collect = [&](uint64_t rows) {
    if (!m.options.measure_sparsity) return;
    for (auto& [layer, meter] : m.sparsity[rows]) {
      const SparsityStats s = meter.read();
      auto [it, fresh] = acc.try_emplace(layer, LayerSparsity{layer, m.model[layer].to_string(), {}});
      SparsityStats& a = it->second.stats;
      if (fresh) {
        a = s;
        continue;
      }
      a.rows += s.rows;
      a.zero_count += s.zero_count;
      a.near_zero_count += s.near_zero_count;
      for (uint64_t c = 0; c < a.features; ++c) a.dead[c] = a.dead[c] && s.dead[c];
    }
  };
  const uint64_t full = count / batch, tail = count % batch;
  for (uint64_t s = 0; s < full; ++s) {
    m.list(data, batch, 1, false).run();
    collect(batch);
  }
  if (tail) {
    m.list(data, tail, 1, false).run();
    collect(tail);
  }
  for (auto& [layer, l] : acc) {
    SparsityStats& a = l.stats;
    const double total = double(a.rows) * double(a.features);
    a.zero_fraction = double(a.zero_count) / total;
    a.near_zero_fraction = double(a.near_zero_count) / total;
    a.dead_count = 0;
    for (uint8_t d : a.dead) a.dead_count += d;
    m.sparsity_result.push_back(l);
  }
  m.check_finite(data, false, epoch_, nullptr, 0);
  m.loss.check_targets();
  return m.read_metrics();
}

std::vector<LayerSparsity> Trainer::sparsity() const { return impl_->sparsity_result; }

CommunicationStats Trainer::communication() const {
  const auto& sync = impl_->sync;
  if (!sync) return {};
  return {sync->reductions(), sync->seconds(), sync->bytes()};
}

Sequential& Trainer::model() const { return impl_->model; }
Optimizer& Trainer::optimizer() const { return impl_->optimizer; }
const TrainerOptions& Trainer::options() const { return impl_->options; }

void Trainer::resume_at(uint64_t seed, uint64_t epochs_done) {
  impl_->options.seed = seed;
  impl_->lists.clear();
  epoch_ = epochs_done;
}

}  // namespace vkgrad::nn
