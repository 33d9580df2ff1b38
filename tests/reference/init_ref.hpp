// init_ref.hpp — CPU reference of the initializers' generator (shaders/init_rng.glsl): Philox4x32-10
// and the maps from its bits to uniform floats, so the shader can be checked bit for bit.
#pragma once

#include <array>
#include <cstdint>

#include "philox_ref.hpp"

namespace vkgrad::ref {

// The uniform sample init_uniform writes at element i for this seed, in double: a + (b − a)·u,
// u = (bits.x >> 8) / 2^24.
double init_uniform_sample(uint64_t seed, uint32_t i, double a, double b);

}  // namespace vkgrad::ref
