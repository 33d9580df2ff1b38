// nn::SyncBatchNorm and nn::convert_sync_batchnorm of include/vkgrad/nn/sync_batchnorm.hpp: the
// split batch-norm ops of vkgrad/batchnorm.hpp around CommandList::host_step, the host steps
// exchanging through ReplicaGroup::allgather.
#include <cmath>
#include <functional>

#include "command_impl.hpp"
#include "nn_state.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

using state::fail;

namespace {

// A row count travels through allgather's floats as two exact parts below 2^24 each.
constexpr double kCountRadix = 16777216.0;  // 2^24

// Every replica's `values` in rank order, gathered; each replica's block is values.size() long.
std::vector<float> gather_blocks(ReplicaGroup& group, std::span<const float> values) {
  std::vector<float> all = group.allgather(values);
  if (all.size() != values.size() * static_cast<std::size_t>(group.size())) {
    fail("SyncBatchNorm", "the replica group's allgather returned " + std::to_string(all.size()) + " values for " +
                              std::to_string(group.size()) + " replicas of " + std::to_string(values.size()));
  }
  return all;
}

}  // namespace

SyncBatchNorm::SyncBatchNorm(Context& context, uint64_t num_features, BatchNormOptions options)
    : BatchNorm1d(context, num_features, options) {
  moments_ = Tensor(context, {4, features_});
  stats_ = Tensor(context, {3, features_});
  local_sums_ = Tensor(context, {2, features_});
  global_sums_ = Tensor(context, {2, features_});
  host_ = std::make_shared<Tensor>(detail::host_tensor(context, 4 * features_));
}

bool SyncBatchNorm::synchronised() const { return training() && rows_.group && rows_.group->size() > 1; }

void SyncBatchNorm::forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  if (!synchronised()) {
    forward_group_ = nullptr;
    BatchNorm1d::forward(cmd, x, y);
    return;
  }
  if (x.empty() || x.shape().rank() != 2) {
    fail("SyncBatchNorm", "x must be a (rows, features) tensor, got " +
                              (x.empty() ? std::string("an empty tensor") : x.shape().to_string()));
  }
  output_features(x.shape()[1]);
  const uint64_t rows = x.shape()[0], global = rows_.global_rows;
  if (global < 2) {
    fail("SyncBatchNorm", "expected more than 1 value per channel when training, got a global batch of " +
                              std::to_string(global) + " rows");
  }
  if (rows > global) {
    fail("SyncBatchNorm", "this replica has " + std::to_string(rows) + " rows but the global batch only " +
                              std::to_string(global) + " (set_replica_rows)");
  }
  const uint64_t C = features_;
  batchnorm_statistics(cmd, x, stats_);
  detail::copy_range(cmd, stats_, 0, *host_, 0, 3 * C);
  ReplicaGroup* group = rows_.group;
  const float eps = options_.eps;
  cmd.host_step([group, rows, global, C, eps, host = host_] {
    const auto values = detail::host_values(*host);
    // [count (2 floats), mean_hi, mean_lo, m2 (C each)] per replica.
    std::vector<float> mine(2 + 3 * C);
    mine[0] = static_cast<float>(std::fmod(double(rows), kCountRadix));
    mine[1] = static_cast<float>(std::floor(double(rows) / kCountRadix));
    std::copy(values.begin(), values.begin() + 3 * C, mine.begin() + 2);
    const auto all = gather_blocks(*group, mine);
    const auto replicas = static_cast<std::size_t>(group->size());
    std::vector<uint64_t> counts(replicas);
    std::vector<float> statistics(3 * C * replicas);
    uint64_t total = 0;
    for (std::size_t r = 0; r < replicas; ++r) {
      const float* block = all.data() + r * mine.size();
      counts[r] = static_cast<uint64_t>(double(block[0]) + double(block[1]) * kCountRadix);
      total += counts[r];
      std::copy(block + 2, block + mine.size(), statistics.begin() + static_cast<std::ptrdiff_t>(3 * C * r));
    }
    if (total != global) {
      fail("SyncBatchNorm", "the replicas' rows add up to " + std::to_string(total) + ", not the " +
                                std::to_string(global) + " global rows of set_replica_rows()");
    }
    batchnorm_combine_statistics(statistics, counts, eps, values.subspan(0, 4 * C));
  });
  detail::copy_range(cmd, *host_, 0, moments_, 0, 4 * C);
  batchnorm_normalize(cmd, x, moments_, weight_, bias_, running_mean_, running_var_, y, options_);
  forward_group_ = group;
}

void SyncBatchNorm::backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) {
  const ReplicaGroup* group = synchronised() ? rows_.group : nullptr;
  if (training() && group != forward_group_) {
    fail("SyncBatchNorm", "the replicas changed since forward() was recorded; record forward() again");
  }
  if (!group) {
    BatchNorm1d::backward(cmd, x, y, dy, dx);
    return;
  }
  const uint64_t C = features_;
  Tensor scratch;
  if (dx.empty()) scratch = Tensor(context(), x.shape());  // first layer: the list keeps it alive
  Tensor& dx_out = dx.empty() ? scratch : dx;
  batchnorm_backward_sums(cmd, x, dy, moments_, local_sums_);
  detail::copy_range(cmd, local_sums_, 0, *host_, 0, 2 * C);
  // Each replica's dy is the gradient of its own loss; the step's gradient weighs replica q's by
  // w_q (ReplicaRows::gradient_weight). So the sums that normalise dy are Σ_q w_q·S_q, taken back to
  // this replica's scale by 1 / w_r (with equal weights: Σ_q S_q).
  cmd.host_step([group = rows_.group, C, host = host_, weight = static_cast<float>(rows_.gradient_weight)] {
    const auto values = detail::host_values(*host);
    std::vector<float> mine(values.begin(), values.begin() + 2 * C);
    mine.push_back(weight);
    const auto all = gather_blocks(*group, mine);
    const std::size_t block = 2 * C + 1, replicas = static_cast<std::size_t>(group->size());
    // Σ over replicas in rank order, in double: the same bits on every replica, whatever the
    // transport's reduction order.
    for (std::size_t i = 0; i < 2 * C; ++i) {
      double sum = 0;
      for (std::size_t r = 0; r < replicas; ++r) sum += double(all[r * block + 2 * C]) * all[r * block + i];
      values[i] = static_cast<float>(sum / double(weight));
    }
  });
  detail::copy_range(cmd, *host_, 0, global_sums_, 0, 2 * C);
  batchnorm_backward_apply(cmd, x, dy, moments_, global_sums_, local_sums_, rows_.global_rows, weight_, dx_out,
                           weight_grad_, bias_grad_, options_);
}

namespace {

std::unique_ptr<Module> sync_copy(BatchNorm1d& bn, CommandList& cmd) {
  auto sync = std::make_unique<SyncBatchNorm>(bn.context(), bn.num_features(), bn.options());
  sync->set_training(bn.training());
  auto from_params = bn.parameters(), to_params = sync->parameters();
  for (std::size_t i = 0; i < from_params.size(); ++i) cmd.copy(*from_params[i].value, *to_params[i].value);
  auto from_buffers = bn.buffers(), to_buffers = sync->buffers();
  for (std::size_t i = 0; i < from_buffers.size(); ++i) cmd.copy(*from_buffers[i].value, *to_buffers[i].value);
  return sync;
}

// Converts `m` through `replace` when it is a plain BatchNorm1d (the copies recorded into cmd, which
// keeps the replaced layer's tensors alive until it has run); recurses into Sequential and Residual.
std::size_t convert_module(Module& m, CommandList& cmd, const std::function<void(std::unique_ptr<Module>)>& replace) {
  if (dynamic_cast<SyncBatchNorm*>(&m)) return 0;
  if (auto* bn = dynamic_cast<BatchNorm1d*>(&m)) {
    replace(sync_copy(*bn, cmd));
    return 1;
  }
  if (auto* seq = dynamic_cast<Sequential*>(&m)) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < seq->size(); ++i) {
      n += convert_module((*seq)[i], cmd, [&](std::unique_ptr<Module> s) { seq->replace(i, std::move(s)); });
    }
    return n;
  }
  if (auto* res = dynamic_cast<Residual*>(&m)) {
    return convert_module(res->fn(), cmd, [&](std::unique_ptr<Module> s) { res->replace_fn(std::move(s)); });
  }
  return 0;
}

}  // namespace

std::size_t convert_sync_batchnorm(Sequential& model) {
  CommandList cmd(model.context());
  const std::size_t n = convert_module(model, cmd, {});
  cmd.run();
  return n;
}

}  // namespace vkgrad::nn
