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
//
// This file records and runs the steps; Trainer::Impl is defined in lib/nn_trainer_impl.hpp, the
// checks before any work and the check_finite error report are in lib/nn_trainer_checks.cpp.
#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "vkgrad/data.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/metrics.hpp"
#include "vkgrad/nn.hpp"
#include "vkgrad/reduce.hpp"

#include "nn_replica.hpp"
#include "nn_state.hpp"
#include "nn_trainer_impl.hpp"
#include "nonfinite.hpp"

namespace vkgrad::nn {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

Trainer::Impl::MetricKind Trainer::Impl::metric_kind_of(const Loss& loss) {
  if (loss.target_kind() == TargetKind::class_indices) return MetricKind::classes;
  const auto* elementwise = dynamic_cast<const ElementwiseLoss*>(&loss);
  return elementwise && elementwise->kind() == PointwiseLossKind::bce_with_logits ? MetricKind::multi_label
                                                                                  : MetricKind::regression;
}

Metrics Trainer::Impl::to_metrics(const std::vector<float>& totals, MetricKind kind, uint64_t width) {
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

Trainer::Impl::Impl(Context& c, Sequential& m, Loss& l, Optimizer& o, TrainerOptions opt)
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

Metrics Trainer::Impl::read_metrics(bool reduce) const {
  std::vector<float> values = totals.to_vector();
  if (reduce && group != nullptr) group->allreduce_sum(values);
  return to_metrics(values, metric_kind, classes);
}

Trainer::Impl::BatchTensors& Trainer::Impl::record_forward(CommandList& cmd, const DeviceDataset& data,
                                                           const Tensor& perm, uint64_t rows, uint64_t stride) {
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

void Trainer::Impl::record_train_step(CommandList& cmd, const DeviceDataset& data, const Slice& slice) {
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

void Trainer::Impl::record_eval_step(CommandList& cmd, const DeviceDataset& data, uint64_t rows) {
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

CommandList& Trainer::Impl::list(const DeviceDataset& data, uint64_t global_rows, uint32_t steps, bool train) {
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

void Trainer::Impl::upload_permutation(Tensor& perm, uint64_t count, const std::vector<int32_t>& order, bool train) {
  if (perm.empty() || perm.numel() != count) {
    std::erase_if(lists, [&](const auto& entry) { return entry.first.train == train; });
    perm = Tensor(ctx, {count}, DType::i32);
  }
  perm.upload<int32_t>(order);
}

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
    const Impl::Slice last = Impl::slice_of(tail, m.rank, m.replicas);
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
