// nn::Trainer's checks (members of Trainer::Impl, lib/nn_trainer_impl.hpp): the dataset, drop_last
// and batch-size checks made on the host before any work, which throw InvalidArgument, and the
// check_finite report, which reads the device's non-finite status after a submission and throws
// NonFiniteError naming the batch and the first module whose output was not finite.
#include <algorithm>
#include <bit>
#include <cmath>
#include <sstream>

#include "vkgrad/data.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/nn.hpp"

#include "nn_mask.hpp"
#include "nn_replica.hpp"
#include "nn_trainer_impl.hpp"
#include "nonfinite.hpp"

namespace vkgrad::nn {

namespace {

std::string float_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void Trainer::Impl::check_dataset(const DeviceDataset& data, std::string_view where) {
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

void Trainer::Impl::check_epoch(const DeviceDataset& data) {
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

void Trainer::Impl::check_finite(const DeviceDataset& data, bool training, uint64_t epoch,
                                 const std::vector<int32_t>* order, uint64_t unchecked_steps) {
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

std::string Trainer::Impl::input_culprit(const DeviceDataset& data, uint64_t step, const std::vector<int32_t>* order) {
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

void Trainer::Impl::check_labels(const DeviceDataset& data, std::string_view where) const {
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

void Trainer::Impl::check_target_shape(const DeviceDataset& data, const std::string& at) const {
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
    throw InvalidArgument(at + "targets " + data.targets.shape().to_string() + " must be (count, outputs) with count " +
                          std::to_string(data.count()) + ", the number of samples (reshape a (count) tensor to " +
                          "(count, 1))");
  }
}

void Trainer::Impl::check_target_values(const DeviceDataset& data, const std::string& at) const {
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

}  // namespace vkgrad::nn
