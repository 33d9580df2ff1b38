#include "cpu_kernels.hpp"

#include <algorithm>
#include <thread>

namespace vkgrad::detail {

bool gemm_broadcast_supported(const DeviceInfo& dev) {
  return dev.subgroup_size == kGemmBroadcastLanes && dev.subgroup_ballot;
}

namespace cpu {

uint64_t grid_groups(uint64_t groups, uint32_t steps) {
  if (steps <= 1) return groups;
  const uint64_t threads = std::max(1u, std::thread::hardware_concurrency());
  return std::min(groups, std::max((groups + steps - 1) / steps, 4 * threads));
}

namespace {

// The broadcast variant's block for an M × N result. Each invocation computes 8 columns of TILE_M
// rows, and on a CPU device every lane of a block costs the same whether its columns are inside the
// result or not (the k loop and its multiply-adds run under a mask), so:
//  - one subgroup (8 invocations, 64 columns) per workgroup: the finest grain, so the fewest idle
//    lanes (N = 784: 832 columns, where blocks of 64 invocations would have 1,024, a quarter of them
//    idle), and many workgroups to spread over the driver's threads; with the local size fixed,
//    results of different widths also share kernels, each of which the driver compiles on first use;
//  - rows: 16 where the result is more than 8 rows tall and N % 4 == 0 (taller blocks share each
//    op(B) load between more rows; 32 spill their accumulators), else 8 (where N % 4 != 0 the
//    epilogue stores element by element, and llvmpipe's compile time grows faster than linearly
//    with the rows of such a block);
//  - swap (SWAP_OUT): compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead where that wastes under 2/3 as many
//    lanes (a 128 × 10 result: 2,048 instead of 8,192 lane-slots), the 2/3 paying for per-element
//    stores and 8-row blocks.
GemmTiles choose_broadcast_tiles(uint64_t M, uint64_t N) {
  const uint32_t cols = kGemmBroadcastLanes * kGemmBroadcastCols;
  auto block = [&](bool swap) {
    const uint32_t rows = !swap && N % 4 == 0 && M > kGemmDirectRows ? kGemmBroadcastPreferredRows : kGemmDirectRows;
    return GemmTiles{rows, cols, 0, true, true, swap};
  };
  auto lanes = [&](const GemmTiles& t) {
    const uint64_t m = t.swap ? N : M, n = t.swap ? M : N;
    return (m + t.m - 1) / t.m * t.m * ((n + t.n - 1) / t.n * t.n);
  };
  const GemmTiles plain = block(false), swapped = block(true);
  return 2 * lanes(swapped) < lanes(plain) + lanes(plain) / 3 ? swapped : plain;
}

}  // namespace

// The direct path (shaders/cpu/gemm_direct.glsl) has no shared memory and no barriers. Where subgroups
// are 8 wide with broadcasts, its broadcast variant (shaders/cpu/gemm_broadcast.glsl: vec4 op(A) loads,
// subgroupBroadcast where op(A) must be read as scalars, 8 columns per thread) takes blocks up to
// 16 rows tall (choose_broadcast_tiles). The direct path: 64 threads (256 columns) per workgroup,
// fewer for a narrow result so columns are not idle, never fewer than one SIMD width, within the
// device's limits.
GemmTiles choose_gemm_tiles(const DeviceInfo& dev, GemmPath path, uint64_t M, uint64_t N) {
  const uint32_t max_threads = std::min(dev.max_workgroup_invocations, dev.max_workgroup_size[0]);
  const uint32_t min_threads = std::max<uint32_t>(dev.subgroup_size, 1);
  const bool broadcast = path == GemmPath::broadcast && gemm_broadcast_supported(dev);
  if (broadcast && max_threads >= kGemmBroadcastLanes) return choose_broadcast_tiles(M, N);
  uint32_t threads = 64;
  while (threads > min_threads && uint64_t(threads / 2) * kGemmDirectCols >= N) threads /= 2;
  threads = std::min(threads, max_threads);
  return GemmTiles{kGemmDirectRows, threads * kGemmDirectCols, 0, true};
}

}  // namespace cpu
}  // namespace vkgrad::detail
