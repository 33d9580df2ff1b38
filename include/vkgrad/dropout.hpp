/// \file
/// Inverted dropout with a counter-based random mask (Philox4x32-10): the mask is a pure function of
/// (seed, step, element index), so the backward pass regenerates it instead of storing it.
#pragma once

#include <cstdint>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// nn.Dropout's options plus the random stream. Setters chain: `DropoutOptions{}.set_p(0.1f)`.
struct DropoutOptions {
  /// Probability of zeroing an element, in [0, 1] (PyTorch default 0.5).
  float p = 0.5f;
  /// Eval mode (false) is the identity.
  bool training = true;
  /// The random stream: the mask of element i is decided by Philox4x32-10 with key = seed (low word,
  /// high word) and counter = (i / 4, 0, step, 0), word i % 4: see shaders/dropout.comp.
  uint64_t seed = 0;
  /// Advance this every training step to draw a fresh mask; the same (seed, step) gives the same mask.
  /// It is recorded into the command list: replaying a list replays the same mask, unless
  /// step_counter is set.
  uint32_t step = 0;
  /// Optional i32 [1] device tensor (e.g. make_step_counter / an optimizer's counter): when set,
  /// the step is read ON THE DEVICE as step_counter[0] + step each time the list runs, so a
  /// recorded training step replayed after the counter was advanced draws a fresh mask. The tensor
  /// must outlive the recorded list.
  const Tensor* step_counter = nullptr;
  /// Element i draws the mask of element element_offset + i of a larger tensor, so that a slice
  /// of rows [r, r + n) of a (rows, F) batch, with element_offset = r · F, gets exactly that slice
  /// of the whole batch's mask (data-parallel replicas, each holding a slice of the global batch,
  /// draw the masks one process would). 0: the tensor's own mask. element_offset + the element
  /// count must not exceed 2^32 (else InvalidArgument).
  uint64_t element_offset = 0;
  /// Threads per workgroup; 0 picks the device's default. The mask does not depend on it. Above the
  /// device's workgroup limits the ops throw InvalidArgument.
  uint32_t local_size = 0;

  /// Set the field of the same name and return *this, for chaining.
  ///@{
  DropoutOptions& set_p(float v) {
    p = v;
    return *this;
  }
  DropoutOptions& set_training(bool v) {
    training = v;
    return *this;
  }
  DropoutOptions& set_seed(uint64_t v) {
    seed = v;
    return *this;
  }
  DropoutOptions& set_step(uint32_t v) {
    step = v;
    return *this;
  }
  DropoutOptions& set_step_counter(const Tensor* v) {
    step_counter = v;
    return *this;
  }
  DropoutOptions& set_element_offset(uint64_t v) {
    element_offset = v;
    return *this;
  }
  DropoutOptions& set_local_size(uint32_t v) {
    local_size = v;
    return *this;
  }
  ///@}
};

/// The drop threshold used for p, round(p · 2^24): elements are dropped when the top 24 bits of
/// their random word are below it, so the exact drop probability is threshold / 2^24 (|error| <=
/// 2^-25). Throws InvalidArgument for p outside [0, 1] or NaN.
uint32_t dropout_threshold(float p);

/// Records y = x · mask / (1 - p), mask[i] in {0, 1} with P(mask[i] = 1) = 1 - p. x, y: f32, same
/// element count; y may be x (in place). A dropped element is MULTIPLIED by 0, as PyTorch does, so a
/// dropped NaN or ±inf gives NaN. p = 0 or eval mode: y = x (a copy, nothing when y is x); p = 1:
/// y = x · 0. Throws InvalidArgument for p outside [0, 1] or NaN.
void dropout_forward(CommandList& cmd, const Tensor& x, Tensor& y, const DropoutOptions& options);

/// Records dx = dy · mask / (1 - p) with the mask of the dropout_forward that used the same options
/// (same seed, step and p; regenerated, not stored). dx is OVERWRITTEN; it may be dy (in place).
void dropout_backward(CommandList& cmd, const Tensor& dy, Tensor& dx, const DropoutOptions& options);

}  // namespace vkgrad
