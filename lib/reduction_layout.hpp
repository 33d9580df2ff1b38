// Which layout the small-axis reductions use: BatchNorm's per-channel statistics over the rows and
// cross-entropy's per-row softmax over the classes.
#pragma once

#include "vkgrad/context.hpp"

namespace vkgrad::detail {

/// workgroup: a workgroup cooperates on each channel tile / row and combines its partial sums
/// through shared memory and barriers (what GPUs run fastest). invocation: each invocation owns
/// whole channel columns / rows and loops over them itself, with no shared memory and no barriers
/// (what CPU devices run fastest: there a workgroup is one thread with the invocations as SIMD lanes,
/// a barrier a coroutine switch and shared memory plain memory behind gathers). automatic:
/// invocation on CPU devices, workgroup elsewhere. Forced layouts let tests and benchmarks run
/// both on any device. Process-wide.
enum class ReductionLayout { automatic, workgroup, invocation };

void set_reduction_layout(ReductionLayout layout);
ReductionLayout reduction_layout();

/// Whether ops on `dev` use the invocation layout (forced, or automatic on a CPU device).
bool per_invocation_reductions(const DeviceInfo& dev);

}  // namespace vkgrad::detail
