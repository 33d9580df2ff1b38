// The small data-parallel training run that the SyncBatchNorm tests compare across replica counts
// (tests/nn_sync_batchnorm_test.cpp with thread replicas, tests/dist/sync_batchnorm_test.cpp over
// MPI): Linear → BatchNorm1d or SyncBatchNorm → ReLU → Linear, MSELoss, SGD with momentum or Adam.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <vkgrad/vkgrad.hpp>

namespace vkgrad::test::sync_bn_training {

// Deterministic values in [lo, hi) from `seed` (SplitMix64), the same in every process.
inline std::vector<float> batch_values(std::size_t n, float lo, float hi, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t state = seed;
  for (float& x : v) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    x = lo + (hi - lo) * static_cast<float>(double(z >> 40) / double(1ull << 24));
  }
  return v;
}

inline constexpr std::size_t kIn = 5, kHidden = 16, kOut = 3;
// The global batch: divisible by 2, 3 and 4 replicas.
inline constexpr std::size_t kBatch = 12;

// Linear(5, 16, bias=False) → BatchNorm1d or SyncBatchNorm(16) → ReLU → Linear(16, 3), initialised
// from seed 7. No bias before the batch norm, whose mean subtraction cancels it: its gradient would
// be rounding noise, which Adam normalises into steps of lr that differ between any two summation
// orders.
inline std::unique_ptr<nn::Sequential> small_model(Context& ctx, bool sync) {
  auto model = std::make_unique<nn::Sequential>(ctx);
  model->emplace<nn::Linear>(kIn, kHidden, false);
  if (sync)
    model->emplace<nn::SyncBatchNorm>(kHidden);
  else
    model->emplace<nn::BatchNorm1d>(kHidden);
  model->emplace<nn::Activation>(Activation::relu);
  model->emplace<nn::Linear>(kHidden, kOut);
  CommandList init(ctx);
  model->reset_parameters(init, 7);
  init.run();
  return model;
}

inline std::unique_ptr<nn::Optimizer> make_optimizer(nn::Sequential& model, bool adam) {
  if (adam) return std::make_unique<nn::Adam>(model, AdamOptions{.lr = 1e-2f});
  return std::make_unique<nn::SGD>(model, SgdOptions{.lr = 0.1f, .momentum = 0.9f});
}

// Rows [begin, end) of a row-major array of rows of `width` values.
inline std::vector<float> batch_rows(const std::vector<float>& a, std::size_t width, std::size_t begin,
                                     std::size_t end) {
  return {a.begin() + static_cast<std::ptrdiff_t>(begin * width), a.begin() + static_cast<std::ptrdiff_t>(end * width)};
}

// One model on `rows` rows of each step's batch (rows [first, first + rows) of kBatch), MSELoss
// (mean over its own rows), `steps` steps of the optimizer; `average` (may be empty) runs between
// backward and the optimizer step. The parameters and buffers after the last step, by name.
inline std::vector<std::pair<std::string, std::vector<float>>> train(Context& ctx, nn::Sequential& model, bool adam,
                                                                     std::size_t first, std::size_t rows, int steps,
                                                                     const std::function<void()>& average) {
  auto optimizer = make_optimizer(model, adam);
  nn::MSELoss loss(ctx);
  Tensor x(ctx, {rows, kIn}), target(ctx, {rows, kOut}), y(ctx, {rows, kOut}), dy(ctx, {rows, kOut});
  Tensor loss_value(ctx, {1}), none;
  CommandList pass(ctx);  // recorded once, replayed every step
  model.forward(pass, x, y);
  loss.forward(pass, y, target, loss_value);
  loss.backward(pass, y, target, dy);
  model.backward(pass, x, y, dy, none);
  CommandList update(ctx);
  optimizer->record_step(update);
  for (int s = 0; s < steps; ++s) {
    const auto xs = batch_values(kBatch * kIn, -2.0f, 2.0f, 1000 + s);
    const auto ts = batch_values(kBatch * kOut, -1.0f, 1.0f, 2000 + s);
    x.upload(std::span<const float>(batch_rows(xs, kIn, first, first + rows)));
    target.upload(std::span<const float>(batch_rows(ts, kOut, first, first + rows)));
    pass.run();
    if (average) average();
    update.run();
  }
  std::vector<std::pair<std::string, std::vector<float>>> state;
  for (auto& p : model.parameters()) state.emplace_back(p.name, p.value->to_vector());
  for (auto& b : model.buffers()) state.emplace_back(b.name, b.value->to_vector());
  return state;
}

}  // namespace vkgrad::test::sync_bn_training
