// Internal: the workgroup tile of the gemm kernels (shaders/gemm_tile.glsl) and how it is chosen
// from the device's limits. Exposed to the tests so they can check the choice against made-up
// devices and run tile shapes the test device would not pick.
#pragma once

#include <cstdint>

#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {
class CommandList;
}

namespace vkgrad::detail {

/// Each thread of gemm_tile.glsl computes a kGemmRegister × kGemmRegister block of the result.
inline constexpr uint32_t kGemmRegister = 4;

/// One workgroup computes an m × n block of the result, staging k columns of op(A) per step.
struct GemmTiles {
  uint32_t m, n, k;
  uint32_t threads() const { return (m / kGemmRegister) * (n / kGemmRegister); }
  /// a_tile + b_tile of gemm_tile.glsl, rows padded by one float.
  uint64_t shared_bytes() const { return uint64_t(k) * ((m + 1) + (n + 1)) * sizeof(float); }
};

/// The tile for an M × N result on `dev` (see the comment at the definition for the policy).
GemmTiles choose_gemm_tiles(const DeviceInfo& dev, uint64_t M, uint64_t N);

/// Whether the shader can run `tiles` on `dev`: m and n multiples of kGemmRegister, k ≥ 1, the
/// thread count and shared memory within the device's limits.
bool gemm_tiles_fit(const DeviceInfo& dev, const GemmTiles& tiles);

/// vkgrad::gemm with an explicit tile instead of choose_gemm_tiles's (throws InvalidArgument when
/// it does not fit the device).
void gemm_with_tiles(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a, bool transpose_b,
                     float alpha, float beta, const GemmTiles& tiles);

}  // namespace vkgrad::detail
