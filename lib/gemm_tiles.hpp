// Internal: the workgroup tile of the gemm kernels (shaders/gemm_tile.glsl) and how it is chosen
// from the device's limits. Exposed to the tests so they can check the choice against made-up
// devices and run tile shapes the test device would not pick.
#pragma once

#include <cstdint>

#include "../shaders/shared_sizes.h"
#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {
class CommandList;
}

namespace vkgrad::detail {

/// Each thread of gemm_tile.glsl computes a kGemmRegister × kGemmRegister block of the result.
inline constexpr uint32_t kGemmRegister = 4;

/// The shared-memory-free path (shaders/cpu/gemm_direct.glsl): a workgroup computes kGemmDirectRows rows
/// and each thread kGemmDirectCols adjacent columns of them.
inline constexpr uint32_t kGemmDirectRows = 8;
inline constexpr uint32_t kGemmDirectCols = 4;

/// The subgroup-broadcast variant of the direct path (shaders/cpu/gemm_broadcast.glsl) is written for
/// subgroups of this many invocations; its blocks are 8, 16 or 32 rows tall.
inline constexpr uint32_t kGemmBroadcastLanes = 8;
inline constexpr uint32_t kGemmBroadcastPreferredRows = 16;  // what choose_gemm_tiles picks at most
/// Each thread of the broadcast variant computes this many adjacent columns of its block's rows.
inline constexpr uint32_t kGemmBroadcastCols = 8;

/// One workgroup computes an m × n block of the result, staging k columns of op(A) per step
/// (tiled path), or, when `direct`, m rows × n columns straight from the buffers (k unused):
/// m = kGemmDirectRows and kGemmDirectCols columns per thread, or with `broadcast`
/// (gemm_broadcast.glsl) m = 8, 16 or 32 and kGemmBroadcastCols columns per thread.
/// With `swap` (broadcast only) the block is one of the transposed product op(B)ᵀ·op(A)ᵀ: m rows of
/// it are m columns of the result (shaders/cpu/gemm_broadcast.glsl, SWAP_OUT).
struct GemmTiles {
  uint32_t m, n, k;
  bool direct = false;
  bool broadcast = false;  ///< only with direct
  bool swap = false;       ///< only with broadcast
  constexpr uint32_t threads() const {
    if (direct) return n / (broadcast ? kGemmBroadcastCols : kGemmDirectCols);
    return (m / kGemmRegister) * (n / kGemmRegister);
  }
  /// Floats of gemm_tile.glsl's shared array the tile uses: the A and B slices, rows padded by one
  /// float; none for the direct path.
  constexpr uint64_t shared_floats() const { return direct ? 0 : uint64_t(k) * ((m + 1) + (n + 1)); }
  constexpr uint64_t shared_bytes() const { return shared_floats() * sizeof(float); }
};

/// The capacity of gemm_tile.glsl's shared array (shaders/shared_sizes.h): the shader declares this
/// many floats whatever the tile, and runs only tiles whose shared_floats() fit in it.
inline constexpr uint64_t kGemmSharedFloats = VKGRAD_GEMM_SHARED_FLOATS;
/// The tiles choose_gemm_tiles starts from (then shrinks to the device): square, and for a thin
/// result (M or N at most 16) wide or tall.
inline constexpr GemmTiles kGemmSquareTile{64, 64, 16};
inline constexpr GemmTiles kGemmWideTile{16, 128, 16};
inline constexpr GemmTiles kGemmTallTile{128, 16, 16};
static_assert(kGemmSquareTile.shared_floats() <= kGemmSharedFloats &&
                  kGemmWideTile.shared_floats() <= kGemmSharedFloats &&
                  kGemmTallTile.shared_floats() <= kGemmSharedFloats,
              "VKGRAD_GEMM_SHARED_FLOATS must hold every tile choose_gemm_tiles may pick");
static_assert(kGemmSharedFloats * sizeof(float) <= 16384,
              "gemm_tile.glsl's shared array must fit the 16 KiB of shared memory every Vulkan device has");

/// Whether `dev` can run gemm_broadcast.glsl (8-wide subgroups with subgroupBroadcast).
bool gemm_broadcast_supported(const DeviceInfo& dev);

/// The tile of `path`'s main loop for an M × N result on `dev` (see the comment at the definition
/// for the policy). A broadcast path on a device that cannot run it gets the direct path's tile.
GemmTiles choose_gemm_tiles(const DeviceInfo& dev, GemmPath path, uint64_t M, uint64_t N);

/// Whether the shader can run `tiles` on `dev`: m and n multiples of kGemmRegister, k ≥ 1, the
/// thread count and shared memory within the device's limits, the slices within kGemmSharedFloats.
bool gemm_tiles_fit(const DeviceInfo& dev, const GemmTiles& tiles);

/// vkgrad::gemm with an explicit tile instead of choose_gemm_tiles's (throws InvalidArgument when
/// it does not fit the device).
void gemm_with_tiles(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a, bool transpose_b,
                     float alpha, float beta, const GemmTiles& tiles);

}  // namespace vkgrad::detail
