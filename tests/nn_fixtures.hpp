// Shared by the nn tests (nn_test.cpp, trainer_nonfinite_test.cpp, soak_test.cpp): a learnable
// synthetic dataset, a small MLP with every module kind, and a model's parameters and buffers as
// one vector for bit-for-bit comparisons.
#pragma once

#include <cstdint>
#include <vector>

#include <vkgrad/vkgrad.hpp>

namespace vkgrad::test {

/// A synthetic classification set: `count` images of `features` u8 pixels, `classes` classes,
/// where the class raises a class-specific band of pixels (learnable, not trivially separable by
/// noise). Normalised to [-0.5, 0.5).
nn::DeviceDataset synthetic(Context& ctx, uint64_t count, uint64_t features, uint32_t classes, uint64_t seed);

/// Appends Linear(in, hidden) → BatchNorm1d → ReLU → Dropout(dropout) → Linear(hidden, out) to
/// `model` and initialises it from `seed`.
void build_mlp(nn::Sequential& model, uint64_t in, uint64_t hidden, uint64_t out, float dropout, uint64_t seed);

/// Every parameter, then every buffer, of `model`, concatenated (downloads).
std::vector<float> all_weights(nn::Sequential& model);

}  // namespace vkgrad::test
