/// \file
/// Activation sparsity statistics of an N×C activation tensor, computed on the device: how many
/// entries are exactly zero, how many are within ε of zero, and which features are "dead" (zero for
/// every row of the batch). Results stay in a small device tensor, so they can be recorded into a
/// training step and read back only when wanted.
#pragma once

#include <cstdint>
#include <vector>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Host copy of one measurement.
struct SparsityStats {
  /// The measured activation's size: rows × features.
  ///@{
  uint64_t rows = 0, features = 0;
  ///@}
  uint64_t zero_count = 0;       ///< entries == 0 (−0 counts, NaN does not)
  uint64_t near_zero_count = 0;  ///< entries with |y| <= ε (NaN does not count)
  double zero_fraction = 0;      ///< zero_count / (rows·features)
  /// near_zero_count / (rows·features)
  double near_zero_fraction = 0;
  std::vector<uint8_t> dead;  ///< per feature: 1 when the feature is zero in every row
  /// Number of dead features (ones in `dead`).
  uint64_t dead_count = 0;
};

/// Measures activation sparsity for (rows × features) f32 activations; owns its device result and
/// scratch. Move-only (it holds tensors).
class ActivationSparsity {
 public:
  /// A meter for activations of rows × features; rows, features >= 1 and rows·features < 2^32,
  /// else InvalidArgument.
  ActivationSparsity(Context& context, uint64_t rows, uint64_t features);

  /// Records the measurement of y (f32, rows·features elements, row-major rows × features) with
  /// threshold eps into result(). Two dispatches; deterministic (integer counts). Throws
  /// InvalidArgument unless y is f32 with rows·features elements.
  void record(CommandList& cmd, const Tensor& y, float eps);

  /// The device result, i32 [2 + features], OVERWRITTEN by each recorded measurement:
  /// [0] zero count, [1] |y| <= ε count (both as uint32 bit patterns), [2 + c] 1 if feature c is
  /// dead else 0.
  const Tensor& result() const { return result_; }

  /// Downloads result() (waits for submitted work, like Tensor::to_vector) into a SparsityStats.
  SparsityStats read() const;

  /// The rows it was created for.
  uint64_t rows() const { return rows_; }
  /// The features it was created for.
  uint64_t features() const { return features_; }

 private:
  uint64_t rows_, features_;
  uint32_t row_chunks_;
  Tensor result_;
  Tensor partial_;  ///< u32 [row_chunks, features, 2]: per-chunk zero / near-zero counts per feature
};

}  // namespace vkgrad
