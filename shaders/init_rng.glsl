// init_rng.glsl — a counter-based random number generator for the init_* shaders: Philox4x32-10
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the generator of
// PyTorch's CUDA backend and of cuRAND. Stateless: the 128 random bits of element i depend only on
// the 64-bit key (the user's seed) and the counter (i, stream, 0, 0), so any thread computes any
// element, results do not depend on the grid size, and a seed reproduces a tensor exactly.
//
// Only integer operations: bit-exact on every device.

#ifndef VKGRAD_INIT_RNG_GLSL
#define VKGRAD_INIT_RNG_GLSL

#include "philox.glsl"

/// A float in [0, 1) with 24 random bits: u / 2^24 for the top 24 bits (every value exact).
float rng_unit_open_high(uint bits) { return float(bits >> 8) * (1.0 / 16777216.0); }
/// A float in (0, 1]: never 0, so log() of it is finite.
float rng_unit_open_low(uint bits) { return float((bits >> 8) + 1u) * (1.0 / 16777216.0); }

#endif
