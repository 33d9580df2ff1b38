// Weight masks across a model (lib/nn_mask.hpp).
#include "nn_mask.hpp"

#include <map>

namespace vkgrad::nn::masks {

namespace {

// The maskable layers of `model` under their weight's parameter name ("0.weight", "1.fn.0.weight"),
// in parameters() order: the Linear whose weight_mask() is the parameter's mask.
std::vector<std::pair<std::string, Linear*>> maskable(Sequential& model) { return state::linear_layers(model); }

// W's dimensions, as a HostTensor's shape.
std::vector<uint64_t> dims_of(const Tensor& t) {
  const auto d = t.shape().dims();
  return {d.begin(), d.end()};
}

}  // namespace

std::vector<const void*> signature(Module& model) {
  std::vector<const void*> identities;
  for (const Parameter& p : model.parameters()) {
    identities.push_back(p.mask != nullptr && !p.mask->empty() ? &p.mask->buffer() : nullptr);
  }
  return identities;
}

state::StateDict checkpoint_state(Sequential& model) {
  state::StateDict tensors;
  for (const auto& [name, linear] : maskable(model)) {
    if (!linear->has_weight_mask()) continue;
    const std::vector<float> values = linear->weight_mask_values();
    HostTensor t{"U8", dims_of(linear->weight()), std::vector<uint8_t>(values.size())};
    for (std::size_t i = 0; i < values.size(); ++i) t.bytes[i] = values[i] != 0.0f ? 1 : 0;
    tensors.emplace_back(std::string(kCheckpointPrefix) + name, std::move(t));
  }
  return tensors;
}

Restore parse_checkpoint_state(Sequential& model, const state::StateDict& masks, std::string_view where) {
  const auto named = maskable(model);
  std::map<std::string, Linear*> by_name(named.begin(), named.end());
  std::map<Linear*, std::vector<float>> values;
  for (const auto& [name, t] : masks) {
    const std::string key = std::string(kCheckpointPrefix) + name;
    const auto it = by_name.find(name);
    if (it == by_name.end()) state::fail(where, "'" + key + "' is not the mask of a maskable parameter of the model");
    if (t.dtype != "U8" || t.shape != dims_of(it->second->weight())) {
      state::fail(where, "'" + key + "' must be a U8 tensor in the weight's shape " +
                             it->second->weight().shape().to_string() + ", got " + t.dtype + " of " +
                             std::to_string(t.numel()) + " elements");
    }
    std::vector<float> v(t.bytes.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (t.bytes[i] > 1) {
        state::fail(where, "'" + key + "' holds " + std::to_string(t.bytes[i]) + " at element " + std::to_string(i) +
                               "; a mask holds only 0 and 1");
      }
      v[i] = t.bytes[i];
    }
    values[it->second] = std::move(v);
  }
  Restore restore;
  for (const auto& [name, linear] : named) {
    auto it = values.find(linear);
    restore.layers.emplace_back(linear, it == values.end() ? std::vector<float>{} : std::move(it->second));
  }
  return restore;
}

void Restore::apply() const {
  for (const auto& [linear, values] : layers) {
    if (values.empty()) {
      linear->remove_weight_mask();
    } else {
      linear->set_weight_mask(values);
    }
  }
}

void broadcast(ReplicaGroup& group, Sequential& model, int root) {
  const auto named = maskable(model);
  // First which layers root masks (one byte each), then those masks' values, one byte per element.
  std::vector<uint8_t> flags(named.size());
  for (std::size_t i = 0; i < named.size(); ++i) flags[i] = named[i].second->has_weight_mask() ? 1 : 0;
  if (!flags.empty()) group.broadcast(flags, root);
  std::vector<uint8_t> values;
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (!flags[i]) continue;
    if (group.rank() == root) {
      for (float v : named[i].second->weight_mask_values()) values.push_back(v != 0.0f ? 1 : 0);
    } else {
      values.resize(values.size() + named[i].second->weight().numel());
    }
  }
  if (!values.empty()) group.broadcast(values, root);
  if (group.rank() == root) return;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < named.size(); ++i) {
    Linear& linear = *named[i].second;
    if (!flags[i]) {
      linear.remove_weight_mask();
      continue;
    }
    const std::size_t n = linear.weight().numel();
    std::vector<float> mask(values.begin() + static_cast<std::ptrdiff_t>(offset),
                            values.begin() + static_cast<std::ptrdiff_t>(offset + n));
    linear.set_weight_mask(mask);
    offset += n;
  }
}

}  // namespace vkgrad::nn::masks
