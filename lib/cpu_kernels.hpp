// The CPU specialisation (KernelSet::cpu): launch policy for the kernels written for CPU Vulkan
// drivers (lavapipe, SwiftShader), in one place. There a workgroup runs as one host thread whose
// invocations are SIMD lanes: a barrier is a coroutine switch, shared memory is plain memory behind
// gathers, subgroup operations are loops over the lanes, and a loop body runs at least once even
// with every lane masked off. So the cpu kernels avoid barriers and shared memory (an invocation per
// row or channel quad, a GEMM that reads straight from memory), read through texel buffers, and take
// several grid-stride steps per invocation. The GPU path never reads anything from this file. What
// each of these kernels is worth against the GPU one is measured by bench/cpu_specialisations.py
// (bench/RESULTS.md).
#pragma once

#include <cstdint>

#include "gemm_tiles.hpp"
#include "vkgrad/context.hpp"

namespace vkgrad::detail::cpu {

/// Grid-stride steps per invocation of the memory-bound elementwise ops (grid_stride_groups'
/// cpu_steps). The texel builds take VKGRAD_STEP_GROUPS = 2 groups of 4 elements per loop step
/// (shaders/texel_io.glsl), so this gives them 2 steps of 8 elements each.
inline constexpr uint32_t kGridSteps = 4;

/// Workgroups for `groups` one-pass workgroups of a grid-stride loop taking up to `steps` loop
/// steps per invocation, keeping at least 4 workgroups per host thread so the threads stay balanced.
uint64_t grid_groups(uint64_t groups, uint32_t steps);

/// Cap on the first pass of whole-tensor reductions (reduce_all): each workgroup ends in a
/// shared-memory tree whose barriers cost a coroutine switch per SIMD group. A constant, not a
/// per-thread count, so the summation order (and the bits of a sum) is the same on every CPU device.
inline constexpr uint32_t kReduceAllGroups = 32;

/// Rows per workgroup of the per-row shaders (softmax, cross-entropy, row sums and argmax,
/// dispatch_rows), whatever the column count.
inline constexpr uint32_t kRowsPerWorkgroup = 64;

/// Local size of the per-channel-quad shaders (BatchNorm statistics, batchnorm_*_columns.comp): two
/// 8-wide SIMD groups on llvmpipe.
inline constexpr uint32_t kColumnLocal = 16;

/// Local size of the one-workgroup kernels class_loss_labels and class_loss_reduce: one 8-wide SIMD
/// group looping over more rows beats a tree reduction's barriers.
inline constexpr uint32_t kSingleGroupLocal = 8;

/// Fewest channels for which prelu_backward's slope gradient takes an invocation per 4 channels:
/// with fewer, each invocation would add a large share of the tensor alone.
inline constexpr uint32_t kPreluColumnsMinChannels = 16;

/// Active threads the activation-sparsity statistics aim for in their first pass (a GPU aims for
/// more): fewer, longer row chunks mean fewer partial counts to add up.
inline constexpr uint64_t kSparsityTargetThreads = 2048;

/// The block of the direct GEMM (path direct) or its subgroup-broadcast variant (path broadcast,
/// where gemm_broadcast_supported; else direct) for an M × N result on `dev`.
GemmTiles choose_gemm_tiles(const DeviceInfo& dev, GemmPath path, uint64_t M, uint64_t N);

}  // namespace vkgrad::detail::cpu
