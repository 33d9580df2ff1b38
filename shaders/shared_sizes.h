// Literal capacities of the shaders' shared (Workgroup) arrays. Included by GLSL
// (#include "shared_sizes.h") and by C++ (lib/), which keeps every launch within them.
//
// A shared array is sized by a literal, never by a specialization constant (gl_WorkGroupSize, a
// constant_id or an expression of them): Metal cannot size threadgroup memory by a function
// constant, so MoltenVK (through SPIRV-Cross) either fails to create the pipeline or sizes the array
// by the constant's default value. Specialization constants stay in the index arithmetic only. The
// build checks every SPIR-V module for this (cmake/spirv_shared_check.cpp).
#ifndef VKGRAD_SHARED_SIZES_H
#define VKGRAD_SHARED_SIZES_H

// The largest local size (invocations per workgroup, x·y·z) of any launch of a shader that keeps
// one shared element per invocation (reduce_workgroup.glsl, batchnorm_reduce.glsl, the
// single-workgroup totals). detail::default_local_size never exceeds it.
#define VKGRAD_MAX_LOCAL_SIZE 256

// Floats of gemm_tile.glsl's shared array: the TILE_K × (TILE_M + 1) slice of op(A), then the
// TILE_K × (TILE_N + 1) slice of op(B), k·((m + 1) + (n + 1)) floats for a tile m × n × k. The
// largest tile choose_gemm_tiles picks (lib/linear.cpp), 16 × 128 × 16 or 128 × 16 × 16, needs
// 16·(17 + 129) = 2336 floats, 9344 bytes: within the 16384 bytes of shared memory every Vulkan
// device has, so declaring the full capacity fits any device.
#define VKGRAD_GEMM_SHARED_FLOATS 2336

// Side of the square tile transpose.comp stages through shared memory on the GPU kernel set: a
// TILE × (TILE + 1) float array (the extra column keeps a tile column's reads on different banks),
// 32 · 33 · 4 = 4224 bytes.
#define VKGRAD_TRANSPOSE_TILE 32

#endif
