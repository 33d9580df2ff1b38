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

/// The shared-memory-free path (shaders/gemm_direct.glsl): a workgroup computes kGemmDirectRows rows
/// and each thread kGemmDirectCols adjacent columns of them.
inline constexpr uint32_t kGemmDirectRows = 8;
inline constexpr uint32_t kGemmDirectCols = 4;

/// One workgroup computes an m × n block of the result, staging k columns of op(A) per step
/// (tiled path), or, when `direct`, m = kGemmDirectRows rows × n columns straight from the
/// buffers (k unused).
struct GemmTiles {
  uint32_t m, n, k;
  bool direct = false;
  uint32_t threads() const {
    return direct ? n / kGemmDirectCols : (m / kGemmRegister) * (n / kGemmRegister);
  }
  /// a_tile + b_tile of gemm_tile.glsl, rows padded by one float; none for the direct path.
  uint64_t shared_bytes() const { return direct ? 0 : uint64_t(k) * ((m + 1) + (n + 1)) * sizeof(float); }
};

/// Which main loop choose_gemm_tiles picks: by device type (automatic: direct on CPU devices, tiled
/// elsewhere), or forced, so tests and benchmarks can run both paths on any device. Process-wide.
enum class GemmPath { automatic, tiled, direct };
void set_gemm_path(GemmPath path);
GemmPath gemm_path();

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
