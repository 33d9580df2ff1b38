// dropout_ref.hpp — CPU reference of the dropout mask and of dropout itself
// (include/vkgrad/dropout.hpp, shaders/dropout.comp, shaders/philox.glsl).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "philox_ref.hpp"

namespace vkgrad::ref {

// keep[i] (n elements, 1 = kept) of the dropout mask for (seed, step, p): element i uses word i % 4 of
// philox4x32_10({i / 4, 0, step, 0}, {seed low, seed high}) and is kept when its top 24 bits are
// >= drop_threshold = round(p · 2^24).
// With `offset`, element i takes the mask of element offset + i (DropoutOptions::element_offset).
std::vector<uint8_t> dropout_mask(size_t n, uint64_t seed, uint32_t step, uint32_t drop_threshold, size_t offset = 0);

// x, y: (n). y = x · (keep ? 1 / (1 - p) : 0); a dropped NaN / inf gives NaN, as in PyTorch.
void dropout_forward(const float* x, const uint8_t* keep, size_t n, double p, double* y);

}  // namespace vkgrad::ref
