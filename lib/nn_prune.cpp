// The pruners, schedules and Pruner of include/vkgrad/nn/prune.hpp: layer selection, the device
// round trip (download W and mask, compute the mask on the host, Linear::set_weight_mask).
#include "vkgrad/nn/prune.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "nn_prune_masks.hpp"
#include "nn_state.hpp"

namespace vkgrad::nn {

using state::fail;
using state::fmt;

namespace {

prune_masks::LayerWeights download(Linear& layer) {
  prune_masks::LayerWeights w;
  w.weight = layer.weight().to_vector<float>();
  w.mask = layer.weight_mask_values();
  w.rows = layer.weight().shape()[0];
  w.columns = layer.weight().shape()[1];
  return w;
}

void check_n_m(uint32_t n, uint32_t m, std::string_view where) {
  if (m == 0 || n == 0 || n > m) {
    fail(where, "N:M sparsity needs 1 <= N <= M, got N = " + std::to_string(n) + ", M = " + std::to_string(m) +
                    " (2:4 keeps 2 of every 4 weights)");
  }
}

// Magnitude pruning over the pooled weights of `layers` (one layer: l1_unstructured).
void magnitude_prune(const std::vector<PruneTarget>& layers, double amount, bool monotone, std::string_view where) {
  std::vector<prune_masks::LayerWeights> weights;
  uint64_t n = 0;
  for (const auto& target : layers) {
    weights.push_back(download(*target.layer));
    n += weights.back().weight.size();
  }
  const uint64_t k = prune_masks::count_to_prune(amount, n, where);
  prune_masks::magnitude_masks(weights, k, monotone);
  for (std::size_t l = 0; l < layers.size(); ++l) layers[l].layer->set_weight_mask(weights[l].mask);
}

}  // namespace

std::vector<PruneTarget> prunable_layers(Sequential& model, const PruneSelection& selection) {
  std::vector<PruneTarget> all;
  for (auto& [name, linear] : state::linear_layers(model)) all.push_back({name, linear});
  if (all.empty()) fail("prunable_layers", "the model has no Linear layer to prune");
  if (selection.skip_output_layer) all.pop_back();
  if (!selection.names.empty()) {
    std::set<std::string> wanted(selection.names.begin(), selection.names.end());
    std::vector<PruneTarget> chosen;
    for (auto& target : all) {
      if (wanted.erase(target.name)) chosen.push_back(target);
    }
    if (!wanted.empty()) {
      std::string names;
      for (const auto& t : all) names += (names.empty() ? "" : ", ") + t.name;
      fail("prunable_layers", "'" + *wanted.begin() + "' is not the weight of a prunable Linear layer (these are: " +
                                  (names.empty() ? std::string("none") : names) + ")");
    }
    all = std::move(chosen);
  }
  if (all.empty()) fail("prunable_layers", "no layer left to prune: the only Linear layer is the output layer");
  return all;
}

void l1_unstructured(Linear& layer, double amount, bool monotone) {
  magnitude_prune({{"weight", &layer}}, amount, monotone, "l1_unstructured");
}

void global_unstructured(const std::vector<PruneTarget>& layers, double amount, bool monotone) {
  if (layers.empty()) fail("global_unstructured", "no layer to prune");
  magnitude_prune(layers, amount, monotone, "global_unstructured");
}

void random_unstructured(Linear& layer, double amount, uint64_t seed, bool monotone) {
  auto w = download(layer);
  const uint64_t k = prune_masks::count_to_prune(amount, w.weight.size(), "random_unstructured");
  prune_masks::random_mask(w, k, seed, monotone);
  layer.set_weight_mask(w.mask);
}

void n_m_structured(Linear& layer, uint32_t n, uint32_t m, bool monotone) {
  check_n_m(n, m, "n_m_structured");
  auto w = download(layer);
  prune_masks::n_m_mask(w, n, m, monotone);
  layer.set_weight_mask(w.mask);
}

void ln_structured(Linear& layer, double amount, bool monotone) {
  auto w = download(layer);
  const uint64_t k = prune_masks::count_to_prune(amount, w.rows, "ln_structured");
  prune_masks::row_mask(w, k, monotone);
  layer.set_weight_mask(w.mask);
}

double pruned_fraction(const std::vector<PruneTarget>& layers) {
  uint64_t pruned = 0, total = 0;
  for (const auto& target : layers) {
    total += target.layer->weight().numel();
    if (!target.layer->has_weight_mask()) continue;
    const auto mask = target.layer->weight_mask_values();
    pruned += static_cast<uint64_t>(std::count(mask.begin(), mask.end(), 0.0f));
  }
  return total == 0 ? 0.0 : double(pruned) / double(total);
}

PruneSchedule PruneSchedule::one_shot(double sparsity, uint64_t at) {
  PruneSchedule s{Kind::one_shot, 0, sparsity, at, at, 1};
  s.validate();
  return s;
}

PruneSchedule PruneSchedule::iterative(double sparsity, uint64_t start, uint64_t end, uint64_t frequency,
                                       double initial) {
  return make(Kind::iterative, sparsity, start, end, frequency, initial);
}

PruneSchedule PruneSchedule::cubic(double sparsity, uint64_t start, uint64_t end, uint64_t frequency, double initial) {
  return make(Kind::cubic, sparsity, start, end, frequency, initial);
}

PruneSchedule PruneSchedule::make(Kind kind, double sparsity, uint64_t start, uint64_t end, uint64_t frequency,
                                  double initial) {
  if (kind == Kind::one_shot) return one_shot(sparsity, start);
  PruneSchedule s{kind, initial, sparsity, start, end, frequency};
  s.validate();
  return s;
}

std::optional<PruneMethod> prune_method_from_name(std::string_view name) {
  if (name == "magnitude") return PruneMethod::magnitude;
  if (name == "global") return PruneMethod::global_magnitude;
  if (name == "random") return PruneMethod::random;
  if (name == "n:m") return PruneMethod::n_m;
  if (name == "neurons") return PruneMethod::neurons;
  return std::nullopt;
}

std::optional<PruneSchedule::Kind> prune_schedule_from_name(std::string_view name) {
  if (name == "one-shot") return PruneSchedule::Kind::one_shot;
  if (name == "iterative") return PruneSchedule::Kind::iterative;
  if (name == "cubic") return PruneSchedule::Kind::cubic;
  return std::nullopt;
}

void PruneSchedule::validate() const {
  const auto in_unit = [](double s) { return s >= 0.0 && s <= 1.0; };
  if (!in_unit(initial_sparsity) || !in_unit(final_sparsity)) {
    fail("PruneSchedule",
         "sparsities must be in [0, 1], got initial " + fmt(initial_sparsity) + " and final " + fmt(final_sparsity));
  }
  if (initial_sparsity > final_sparsity) {
    fail("PruneSchedule", "the initial sparsity " + fmt(initial_sparsity) + " is above the final one " +
                              fmt(final_sparsity) + ": pruned weights stay pruned, so sparsity can only grow");
  }
  if (frequency == 0) fail("PruneSchedule", "frequency must be >= 1");
  if (end < start) {
    fail("PruneSchedule", "end (" + std::to_string(end) + ") is before start (" + std::to_string(start) + ")");
  }
  if ((end - start) % frequency != 0) {
    fail("PruneSchedule", "end - start (" + std::to_string(end - start) + ") must be a multiple of frequency (" +
                              std::to_string(frequency) + "), so that end is a pruning point");
  }
  if (kind == Kind::one_shot && end != start) fail("PruneSchedule", "a one-shot schedule has end == start");
}

bool PruneSchedule::is_pruning_point(uint64_t t) const {
  return t >= start && t <= end && (t - start) % frequency == 0;
}

double PruneSchedule::sparsity_at(uint64_t t) const {
  if (t < start) return initial_sparsity;
  if (t >= end) return final_sparsity;
  const uint64_t n = (end - start) / frequency;
  const uint64_t k = (t - start) / frequency;  // the last pruning point <= t
  switch (kind) {
    case Kind::one_shot: return final_sparsity;
    case Kind::iterative: return initial_sparsity + (final_sparsity - initial_sparsity) * double(k + 1) / double(n + 1);
    case Kind::cubic: {
      const double progress = double(k) / double(n);
      return final_sparsity + (initial_sparsity - final_sparsity) * std::pow(1.0 - progress, 3);
    }
  }
  return final_sparsity;
}

Pruner::Pruner(Sequential& model, PrunerOptions options) : options_(std::move(options)) {
  options_.schedule.validate();
  if (options_.method == PruneMethod::n_m) check_n_m(options_.n, options_.m, "Pruner");
  layers_ = prunable_layers(model, options_.layers);
}

bool Pruner::step(uint64_t t) {
  if (!options_.schedule.is_pruning_point(t)) return false;
  const double s = options_.schedule.sparsity_at(t);
  if (options_.method == PruneMethod::global_magnitude) {
    global_unstructured(layers_, s, options_.monotone);
    return true;
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Linear& layer = *layers_[i].layer;
    switch (options_.method) {
      case PruneMethod::magnitude: l1_unstructured(layer, s, options_.monotone); break;
      case PruneMethod::random:
        random_unstructured(layer, s, state::mix_seed(options_.seed, i), options_.monotone);
        break;
      case PruneMethod::n_m: n_m_structured(layer, options_.n, options_.m, options_.monotone); break;
      case PruneMethod::neurons: ln_structured(layer, s, options_.monotone); break;
      case PruneMethod::global_magnitude: break;
    }
  }
  return true;
}

}  // namespace vkgrad::nn
