// Which layout the small-axis reductions use: BatchNorm's per-channel statistics over the rows and
// cross-entropy's per-row softmax over the classes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "command_impl.hpp"
#include "vkgrad/context.hpp"

namespace vkgrad::detail {

/// Whether row-wise ops on `c`'s context use the per-invocation layout (KernelChoice::row_reductions):
/// each invocation owns whole channel columns / rows and loops over them itself, with no shared
/// memory and no barriers (the cpu kernel set), instead of a workgroup cooperating on each channel
/// tile / row through shared memory and barriers (gpu).
bool per_invocation_reductions(const CommandListImpl& c);

/// A row-wise op's two shaders: `workgroup` (one workgroup per row, shared-memory reductions) and
/// `per_row` (one invocation per row, no barriers), both with specialization constant 0 = local
/// size and `spec` after it, and grid-stride loops over the rows.
struct RowKernels {
  std::string_view workgroup, per_row;
  std::vector<uint32_t> spec;
  uint32_t push_constant_bytes = 0;
};

/// Records `k` over `rows` rows of `cols` columns in the layout per_invocation_reductions picks.
void dispatch_rows(CommandListImpl& c, const RowKernels& k, uint64_t rows, uint64_t cols,
                   std::initializer_list<BufferUse> uses, const void* push, std::string_view label);

}  // namespace vkgrad::detail
