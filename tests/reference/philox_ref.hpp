// philox_ref.hpp — Philox4x32-10 (Salmon et al., SC'11; Random123's philox4x32 with 10 rounds), the
// counter-based generator behind dropout masks and initializers (shaders/philox.glsl).
#pragma once

#include <array>
#include <cstdint>

namespace vkgrad::ref {

// 4 counter words and 2 key words to 4 random words.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

}  // namespace vkgrad::ref
