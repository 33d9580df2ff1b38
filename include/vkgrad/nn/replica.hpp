/// \file
/// nn::ReplicaGroup: the processes that train one model together in data-parallel training, as the
/// Trainer and the modules that reduce across processes see them. vkgrad::dist implements it over
/// MPI (dist::Communicator); the core library has no dependency on any transport. Included by
/// vkgrad/nn/module.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkgrad::nn {

/// A group of replicas, one process each, each training a copy of the same model on its own slice
/// of every batch. Every call is collective: every replica makes it, in the same order, with
/// matching sizes; each result is identical on every replica.
class ReplicaGroup {
 public:
  virtual ~ReplicaGroup() = default;
  /// This replica's index, 0 to size() − 1.
  virtual int rank() const = 0;
  /// Number of replicas.
  virtual int size() const = 0;
  /// In place: data[i] = the sum over replicas of data[i] (bit-identical on every replica).
  virtual void allreduce_sum(std::span<float> data) = 0;
  /// Every replica's `data`, concatenated in rank order (size() · data.size() values).
  virtual std::vector<float> allgather(std::span<const float> data) = 0;
  /// Every replica's `data` becomes root's.
  virtual void broadcast(std::span<uint8_t> data, int root) = 0;
};

/// Where a replica's rows sit in the batch that all replicas train on together (data-parallel
/// training), as the Trainer tells a model before it records a step.
struct ReplicaRows {
  /// The replicas; null when training alone.
  ReplicaGroup* group = nullptr;
  /// Index in the global batch of this replica's first row (0 when alone).
  uint64_t first_row = 0;
  /// Rows of the global batch, across all replicas (this replica's rows when alone).
  uint64_t global_rows = 0;
  /// The weight of this replica's parameter gradients in the sum across replicas that makes the
  /// step's gradients (the Trainer's: rows / global_rows with a mean loss, 1 with a summed one).
  /// SyncBatchNorm weighs the sums of its backward pass the same way, so that replicas with
  /// different row counts (an epoch's last, uneven batch) train as one process would.
  double gradient_weight = 1.0;
};

}  // namespace vkgrad::nn
