// The whole-tensor reduction behind reduce_all, squared_l2_norm and the pointwise losses' mean / sum:
// shaders/reduce_all.comp run twice (n elements -> a fixed number of partial results -> 1).
#pragma once

#include <cstdint>
#include <string>

#include "vkgrad/tensor.hpp"

namespace vkgrad::detail {

class CommandListImpl;

/// Partial results of the first pass: a fixed count, so the combination order (and the result)
/// depends only on n and the local size. 256 groups keep a large GPU busy; the second pass is one
/// workgroup combining 256 numbers.
inline constexpr uint32_t kReduceAllPartials = 256;

/// reduce_all.comp's OP values.
enum class ReduceAllOp : uint32_t { sum = 0, sum_of_squares = 1, max = 2 };

/// Records out[0] = the reduction of x's elements (times 1 / n when `mean`), through `partials`
/// (kReduceAllPartials f32 elements, overwritten). The caller has checked the tensors.
void record_reduce_all(CommandListImpl& c, ReduceAllOp op, bool mean, const Tensor& x, Tensor& partials, Tensor& out,
                       const std::string& label);

}  // namespace vkgrad::detail
