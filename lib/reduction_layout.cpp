#include "reduction_layout.hpp"

#include <atomic>

namespace vkgrad::detail {

namespace {
std::atomic<ReductionLayout> forced_layout{ReductionLayout::automatic};
}  // namespace

void set_reduction_layout(ReductionLayout layout) { forced_layout = layout; }
ReductionLayout reduction_layout() { return forced_layout; }

bool per_invocation_reductions(const DeviceInfo& dev) {
  const ReductionLayout layout = forced_layout;
  return layout == ReductionLayout::invocation || (layout == ReductionLayout::automatic && dev.type == DeviceType::cpu);
}

}  // namespace vkgrad::detail
