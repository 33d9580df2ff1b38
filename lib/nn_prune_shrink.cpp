// shrink_pruned_neurons of include/vkgrad/nn/prune.hpp: removes the pruned output rows of each
// top-level Linear and the matching input columns of the next, folding the pruned neurons'
// constant outputs into the next Linear's bias.
#include <algorithm>
#include <memory>

#include "nn_state.hpp"
#include "vkgrad/nn/prune.hpp"

namespace vkgrad::nn {

namespace {

// What happens to top-level Linear `first`: its rows `keep` stay, and the Linear at `next` loses
// the other columns.
struct ShrinkStep {
  std::size_t first = 0, next = 0;
  std::vector<uint64_t> keep;
};

bool elementwise(Module& module) {
  return dynamic_cast<Activation*>(&module) != nullptr || dynamic_cast<Dropout*>(&module) != nullptr;
}

// The rows whose mask is all 0; empty without a mask.
std::vector<bool> pruned_rows(Linear& layer) {
  const uint64_t rows = layer.weight().shape()[0], cols = layer.weight().shape()[1];
  std::vector<bool> pruned(rows, false);
  if (!layer.has_weight_mask()) return pruned;
  const auto mask = layer.weight_mask_values();
  for (uint64_t r = 0; r < rows; ++r) {
    bool all = true;
    for (uint64_t c = 0; c < cols && all; ++c) all = mask[r * cols + c] == 0.0f;
    pruned[r] = all;
  }
  return pruned;
}

// f(b) for the Linear's bias b (0 without one): the outputs of pruned neurons, through the
// elementwise layers first + 1 .. next - 1 in eval mode (Dropout passes them through).
std::vector<float> pruned_outputs(Sequential& model, std::size_t first, std::size_t next) {
  auto& layer = dynamic_cast<Linear&>(model[first]);
  const uint64_t width = layer.weight().shape()[0];
  std::vector<float> values = layer.bias().empty() ? std::vector<float>(width, 0.0f) : layer.bias().to_vector<float>();
  for (std::size_t i = first + 1; i < next; ++i) {
    Tensor x(model.context(), {1, width}), y(model.context(), {1, width});
    x.upload(values);
    {
      state::ModeWhileRecording eval(model[i], false);
      CommandList cmd(model.context());
      model[i].forward(cmd, x, y);
      cmd.run();
    }
    values = y.to_vector<float>();
  }
  return values;
}

std::unique_ptr<Linear> make_linear(Context& context, uint64_t in, uint64_t out, const std::vector<float>& weight,
                                    const std::vector<float>& bias, const std::vector<float>* mask) {
  auto layer = std::make_unique<Linear>(context, in, out, !bias.empty());
  layer->weight().upload(weight);
  if (!bias.empty()) layer->bias().upload(bias);
  if (mask) layer->set_weight_mask(*mask);
  return layer;
}

// Applies one step: the next Linear first (it reads the first one's bias), then the first.
uint64_t apply(Sequential& model, const ShrinkStep& step) {
  auto& first = dynamic_cast<Linear&>(model[step.first]);
  auto& next = dynamic_cast<Linear&>(model[step.next]);
  const uint64_t in = first.weight().shape()[1], out = first.weight().shape()[0];
  const uint64_t next_out = next.weight().shape()[0];
  const uint64_t kept = step.keep.size();
  std::vector<bool> is_kept(out, false);
  for (uint64_t r : step.keep) is_kept[r] = true;

  const auto f = pruned_outputs(model, step.first, step.next);
  const auto w = next.weight().to_vector<float>();
  const auto w_mask = next.weight_mask_values();
  std::vector<float> bias = next.bias().empty() ? std::vector<float>() : next.bias().to_vector<float>();
  std::vector<double> folded(next_out, 0.0);
  bool fold_nonzero = false;
  std::vector<float> w2(next_out * kept), m2(next_out * kept);
  for (uint64_t r = 0; r < next_out; ++r) {
    for (uint64_t c = 0; c < out; ++c) {
      if (!is_kept[c]) folded[r] += double(w[r * out + c]) * double(f[c]);
    }
    for (uint64_t j = 0; j < kept; ++j) {
      w2[r * kept + j] = w[r * out + step.keep[j]];
      m2[r * kept + j] = w_mask[r * out + step.keep[j]];
    }
    fold_nonzero = fold_nonzero || folded[r] != 0.0;
  }
  if (fold_nonzero && bias.empty()) bias.assign(next_out, 0.0f);
  for (uint64_t r = 0; r < bias.size(); ++r) bias[r] = static_cast<float>(double(bias[r]) + folded[r]);
  auto next_layer = make_linear(model.context(), kept, next_out, w2, bias, next.has_weight_mask() ? &m2 : nullptr);

  const auto w1 = first.weight().to_vector<float>();
  const auto w1_mask = first.weight_mask_values();
  const auto b1 = first.bias().empty() ? std::vector<float>() : first.bias().to_vector<float>();
  std::vector<float> w1k(kept * in), m1k(kept * in), b1k;
  for (uint64_t j = 0; j < kept; ++j) {
    const uint64_t r = step.keep[j];
    std::copy_n(w1.begin() + static_cast<std::ptrdiff_t>(r * in), in,
                w1k.begin() + static_cast<std::ptrdiff_t>(j * in));
    std::copy_n(w1_mask.begin() + static_cast<std::ptrdiff_t>(r * in), in,
                m1k.begin() + static_cast<std::ptrdiff_t>(j * in));
    if (!b1.empty()) b1k.push_back(b1[r]);
  }
  auto first_layer = make_linear(model.context(), in, kept, w1k, b1k, &m1k);

  model.replace(step.next, std::move(next_layer));
  model.replace(step.first, std::move(first_layer));
  return out - kept;
}

}  // namespace

uint64_t shrink_pruned_neurons(Sequential& model) {
  std::vector<std::size_t> linear;
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (dynamic_cast<Linear*>(&model[i])) linear.push_back(i);
  }
  if (linear.empty()) state::fail("shrink_pruned_neurons", "the model has no top-level Linear layer");
  // Plan every step (and refuse) before changing anything.
  std::vector<ShrinkStep> steps;
  for (std::size_t l = 0; l + 1 < linear.size(); ++l) {
    ShrinkStep step{linear[l], linear[l + 1], {}};
    const auto pruned = pruned_rows(dynamic_cast<Linear&>(model[step.first]));
    for (uint64_t r = 0; r < pruned.size(); ++r) {
      if (!pruned[r]) step.keep.push_back(r);
    }
    if (step.keep.size() == pruned.size()) continue;
    if (step.keep.empty()) step.keep.push_back(0);  // a Linear keeps at least one row
    for (std::size_t i = step.first + 1; i < step.next; ++i) {
      if (!elementwise(model[i])) {
        state::fail("shrink_pruned_neurons",
                    "layer " + std::to_string(i) + " (" + model[i].to_string() + ") stands between Linear layers " +
                        std::to_string(step.first) + " and " + std::to_string(step.next) +
                        ": only Activation and Dropout layers may stand between a Linear whose pruned neurons are "
                        "removed and the next Linear (they map each neuron on its own)");
      }
    }
    steps.push_back(std::move(step));
  }
  uint64_t removed = 0;
  for (const auto& step : steps) removed += apply(model, step);
  return removed;
}

}  // namespace vkgrad::nn
