// Internal helpers of data-parallel training in the core library (nn::Trainer), in terms of
// nn::ReplicaGroup only, so the core depends on no transport: integers exchanged exactly, checks
// that every replica agrees, an outcome of rank 0's work shared with every replica, and the
// gradient averaging recorded inside a training step.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vkgrad/nn.hpp"

namespace vkgrad::nn::replica {

/// Every replica's `values`, concatenated in rank order (size() · values.size()), exactly: each
/// value travels as four 16-bit pieces, floats that hold them exactly.
std::vector<int64_t> gather(ReplicaGroup& group, std::span<const int64_t> values);

/// FNV-1a of `text`, for comparing descriptions between replicas in one value.
int64_t hash(std::string_view text);

/// Collective: throws InvalidArgument on every replica when any replica's `local_error` is not
/// empty (its own message where it has one) or when `values` differ between replicas (naming
/// `what` and the first replica that differs from rank 0). `where` prefixes the messages.
void agree(ReplicaGroup& group, std::span<const int64_t> values, const std::string& local_error, std::string_view where,
           std::string_view what);

/// Collective: runs `work` on `root` only and shares how it ended: when it threw, root rethrows and
/// every other replica throws the same type (InvalidArgument or Error) with root's message, so no
/// replica waits for the others forever.
void run_on_root(ReplicaGroup& group, int root, const std::function<void()>& work);

/// Every replica's 8-byte `value` becomes root's.
uint64_t broadcast_u64(ReplicaGroup& group, uint64_t value, int root);

/// The gradients of `parameters` (all present) in buckets, as data-parallel averaging reduces them:
/// reverse layer order (the order backward produces them); a bucket closes when the next gradient
/// would take it past `bucket_bytes` (a larger gradient forms a bucket of its own), as PyTorch DDP's.
std::vector<std::vector<Tensor*>> gradient_buckets(const std::vector<Parameter>& parameters, std::size_t bucket_bytes);

/// Averages the parameter gradients of a model across the replicas inside a recorded training step:
/// record() adds, after backward, copies of every gradient into one host-visible tensor in reverse
/// layer order (the order backward produces them), a host step that scales this replica's values
/// by its weight and reduces each bucket (at most bucket_bytes, a larger gradient alone) with
/// ReplicaGroup::allreduce_sum, and the copies back. The parameter list must not change afterwards.
class GradientSync {
 public:
  /// Plans the buckets of model.parameters() (every gradient f32 and allocated, else
  /// InvalidArgument). No collective call.
  GradientSync(Context& context, ReplicaGroup& group, Module& model, std::size_t bucket_bytes);
  /// Records the averaging: grad = Σ over replicas of weight_r · grad_r, where a replica with no
  /// rows in this step (`has_rows` false) contributes zeros and records no copy in.
  void record(CommandList& cmd, bool has_rows, float weight);
  /// Whether the model has gradients to average.
  bool empty() const { return gradients_.empty(); }
  /// Host reductions run so far, the seconds spent in them, and the gradient bytes of one.
  uint64_t reductions() const { return stats_->reductions; }
  double seconds() const { return stats_->seconds; }
  uint64_t bytes() const { return elements_ * sizeof(float); }

 private:
  struct Stats {
    uint64_t reductions = 0;
    double seconds = 0;
  };
  ReplicaGroup* group_;
  std::vector<Tensor*> gradients_;                      // reverse layer order
  std::vector<std::pair<uint64_t, uint64_t>> buckets_;  // (first element, elements) in host_
  uint64_t elements_ = 0;
  Tensor host_;
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();
};

}  // namespace vkgrad::nn::replica
