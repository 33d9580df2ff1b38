// Weight masks across a model, for the Trainer: which parameters are masked (when to record its
// steps again), the masks in checkpoints ("vkgrad.mask.<parameter>") and among replicas.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nn_state.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn::masks {

/// The checkpoint prefix of a mask: "vkgrad.mask.0.weight" holds the mask of parameter "0.weight".
inline constexpr std::string_view kCheckpointPrefix = "vkgrad.mask.";

/// Per parameter of `model`, the identity of the mask buffer a step recorded now would read, or
/// null where none is set. Equal signatures: lists recorded with one still mask as the model now
/// asks (mask values may differ, they are read when a list runs). A mask removed and set again is
/// a new buffer, and lists recorded with the old one keep it alive, so it never compares equal.
std::vector<const void*> signature(Module& model);

/// Every set mask as a U8 tensor of 0 and 1 in W's shape, named kCheckpointPrefix + parameter name.
state::StateDict checkpoint_state(Sequential& model);

/// The masks of a checkpoint, checked against the model before anything changes: one entry per
/// maskable layer, with the values to set (empty: remove the layer's mask).
struct Restore {
  std::vector<std::pair<Linear*, std::vector<float>>> layers;
  /// set_weight_mask or remove_weight_mask on every layer.
  void apply() const;
};
/// `masks` holds the file's mask tensors, named without kCheckpointPrefix. InvalidArgument (text
/// after `where`) for a name that is not a maskable parameter of `model`, a dtype other than U8, a
/// shape other than the weight's, or a value other than 0 or 1.
Restore parse_checkpoint_state(Sequential& model, const state::StateDict& masks, std::string_view where);

/// Makes every replica's masks root's (set, rewritten or removed), collectively.
void broadcast(ReplicaGroup& group, Sequential& model, int root);

}  // namespace vkgrad::nn::masks
