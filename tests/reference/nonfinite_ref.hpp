// CPU reference of shaders/nonfinite_check.comp (lib/nonfinite.hpp): the status update of one
// step, in plain loops, the specification tests/nonfinite_test.cpp checks the shader against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkgrad::ref {

// status: [0] first step whose loss was non-finite (0: none), [1] that loss's bits, [2 + s] the
// last step at which tensor s held a non-finite value. One step with batch cursor `cursor`
// (stamp = cursor + 1): if status[0] is 0, every tensor holding a NaN or ±inf gets
// status[2 + s] = max(status[2 + s], stamp); then, if tensors[loss_index] (1 element) is
// non-finite, status[0] = stamp and status[1] = its bits. loss_index == tensors.size(): no loss.
void nonfinite_check(std::vector<int32_t>& status, const std::vector<std::vector<float>>& tensors,
                     std::size_t loss_index, int32_t cursor);

}  // namespace vkgrad::ref
