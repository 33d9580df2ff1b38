/// \file
/// Weight masks (pruning): mask_apply sets the elements of up to kMaskApplyMaxTargets tensors to +0
/// wherever a mask is 0, in one dispatch. nn::Linear's weight mask and the optimizers' masked steps
/// (ParamRef::mask in optim.hpp) are built on it.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// The most target tensors one mask_apply call takes: a parameter and Adam's two state tensors. The
/// dispatch binds 1 + 2·targets buffers (each target is bound to be read and to be written), 7 at
/// most, fewer than adam_update needs, so mask_apply runs wherever the optimizers do.
inline constexpr std::size_t kMaskApplyMaxTargets = 3;

/// Records, for every i with mask[i] == 0 (+0 or −0): target[i] = +0 in each target, in place.
/// This is a select, not a product: a NaN or ±inf in a pruned position becomes exactly +0, and
/// where mask[i] != 0 the target's bits are left as they are (NaN stays NaN). mask and every
/// target: f32 with the same element count (shapes may differ); 1 to kMaskApplyMaxTargets distinct
/// targets, none of them the mask. One dispatch. InvalidArgument (nothing recorded) for a null,
/// empty or repeated target, a wrong dtype or element count, or too many targets.
///
/// The mask's VALUES are the caller's responsibility and are not checked (they are read when the
/// list runs): a mask should hold exactly 0 and 1. Any value other than ±0 keeps the element, a
/// NaN included. nn::Linear::set_weight_mask validates its values on the host.
void mask_apply(CommandList& cmd, const Tensor& mask, std::span<Tensor* const> targets);

/// mask_apply over a braced list of targets: mask_apply(cmd, mask, {&w, &momentum_buffer}).
inline void mask_apply(CommandList& cmd, const Tensor& mask, std::initializer_list<Tensor*> targets) {
  mask_apply(cmd, mask, std::span<Tensor* const>(targets.begin(), targets.size()));
}

}  // namespace vkgrad
