#include "nn_fixtures.hpp"

#include <algorithm>
#include <random>

namespace vkgrad::test {

nn::DeviceDataset synthetic(Context& ctx, uint64_t count, uint64_t features, uint32_t classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> images(count * features), labels(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t c = uint32_t(rng() % classes);
    labels[i] = uint8_t(c);
    for (uint64_t f = 0; f < features; ++f) {
      const bool band = f % classes == c;
      images[i * features + f] = uint8_t(std::min<uint64_t>(255, rng() % 140 + (band ? 110 : 0)));
    }
  }
  nn::DeviceDataset d;
  d.images = Tensor::from<uint8_t>(ctx, {count, features}, images);
  d.labels = Tensor::from<uint8_t>(ctx, {count}, labels);
  d.scale = 1.0f / 255.0f;
  d.shift = -0.5f;
  return d;
}

void build_mlp(nn::Sequential& model, uint64_t in, uint64_t hidden, uint64_t out, float dropout, uint64_t seed) {
  model.emplace<nn::Linear>(in, hidden);
  model.emplace<nn::BatchNorm1d>(hidden);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Dropout>(dropout);
  model.emplace<nn::Linear>(hidden, out);
  CommandList cmd(model.context());
  model.reset_parameters(cmd, seed);
  cmd.run();
}

std::vector<float> all_weights(nn::Sequential& model) {
  std::vector<float> w;
  for (const auto& p : model.parameters()) {
    const auto v = p.value->to_vector();
    w.insert(w.end(), v.begin(), v.end());
  }
  for (const auto& b : model.buffers()) {
    const auto v = b.value->to_vector();
    w.insert(w.end(), v.begin(), v.end());
  }
  return w;
}

}  // namespace vkgrad::test
