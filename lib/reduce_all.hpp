// The whole-tensor reduction behind reduce_all, squared_l2_norm and the pointwise losses' mean / sum:
// shaders/reduce_all.comp run twice (n elements -> a fixed number of partial results -> 1).
#pragma once

#include <cstdint>
#include <string>

#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::detail {

struct CommandListImpl;

/// Partial results of the first pass: a fixed count, so the combination order (and the result)
/// depends only on n, the local size and the kernel set (cpu::kReduceAllGroups). 256
/// groups keep a large GPU busy; the second pass is one workgroup combining 256 numbers.
inline constexpr uint32_t kReduceAllPartials = 256;

/// reduce_all.comp's OP values.
enum class ReduceAllOp : uint32_t { sum = 0, sum_of_squares = 1, max = 2 };

/// reduce_all.comp's push constants.
struct ReduceAllPush {
  uint32_t n;
  float scale;
  uint32_t offset;
};

/// Workgroups of the first pass over n elements: enough for one invocation per group of 4
/// elements, at most `max_groups` (and cpu::kReduceAllGroups with the cpu kernel set). Depends only on
/// the device, the kernel set and n, so the summation order does.
uint32_t reduce_all_groups(const ContextImpl& context, uint64_t n, uint32_t max_groups);

/// Records the first pass alone: partials[offset + g] = the reduction (OP sum, sum of squares or
/// max) of the elements of x assigned to workgroup g < groups. The caller has checked the tensors.
void record_reduce_all_partials(CommandListImpl& c, ReduceAllOp op, const Tensor& x, Tensor& partials, uint32_t offset,
                                uint32_t groups, const std::string& label);

/// Records out[0] = the reduction of x's elements (times 1 / n when `mean`), through `partials`
/// (kReduceAllPartials f32 elements, overwritten). The caller has checked the tensors.
void record_reduce_all(CommandListImpl& c, ReduceAllOp op, bool mean, const Tensor& x, Tensor& partials, Tensor& out,
                       const std::string& label);

}  // namespace vkgrad::detail
