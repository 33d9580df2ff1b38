// mask_ref.hpp — double-precision CPU reference of mask_apply (include/vkgrad/mask.hpp): the
// specification the shader is tested against.
#pragma once

#include <vector>

namespace vkgrad::ref {

// mask_apply on one target, in place: target[i] = +0 where mask[i] == 0 (±0), else unchanged
// (NaN and ±inf included). mask, target: (n,).
void mask_apply(const std::vector<double>& mask, std::vector<double>& target);

}  // namespace vkgrad::ref
