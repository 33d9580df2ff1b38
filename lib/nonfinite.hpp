// Device-side detection of non-finite values (NaN, ±inf) in a replayed training step, for
// nn::Trainer's check_finite option: shaders/nonfinite_check.comp stamps, per checked tensor
// ("slot"), the step at which it last held a non-finite value, and freezes everything at the first
// step whose loss is non-finite. The host reads the small status tensor once per submission.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::detail {

/// Entries of a status tensor before the per-slot stamps: [0] first bad step, [1] its loss bits.
inline constexpr uint64_t kNonFiniteHeader = 2;
/// Tensors one nonfinite_check dispatch scans; more take several dispatches.
inline constexpr std::size_t kNonFiniteTensorsPerDispatch = 6;

/// A zeroed i32 status tensor for `slots` checked tensors.
Tensor make_nonfinite_status(Context& context, std::size_t slots);

/// Records the check of `tensors` (f32, any shape, non-empty; tensors[i] is slot i) for the step
/// numbered cursor[0] + 1 (cursor: i32 [1], the trainer's batch cursor). tensors[loss_index] is
/// the loss (1 element), whose non-finite value freezes the status at this step; loss_index ==
/// tensors.size() checks without freezing. status: make_nonfinite_status(tensors.size()) or larger.
void record_nonfinite_check(CommandList& cmd, std::span<const Tensor* const> tensors, std::size_t loss_index,
                            const Tensor& cursor, Tensor& status);

/// A status tensor read back on the host.
struct NonFiniteStatus {
  int32_t step = 0;             ///< first step (cursor + 1) whose loss was non-finite; 0: none
  float loss = 0;               ///< that loss value
  std::vector<int32_t> stamps;  ///< per slot: the last step at which it held a non-finite value
  /// The first slot that held a non-finite value at `step`, or -1 (only the loss itself did, or
  /// step is 0).
  int64_t first_slot() const;
};

/// Downloads `status` (waits for the device).
NonFiniteStatus read_nonfinite_status(const Tensor& status);

}  // namespace vkgrad::detail
