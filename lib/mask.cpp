// mask_apply (declared in vkgrad/mask.hpp): one shader, mask_apply.comp.
#include <string>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "vkgrad/mask.hpp"

namespace vkgrad {

namespace {

struct MaskApplyPush {
  uint32_t n;
};

}  // namespace

void mask_apply(CommandList& cmd, const Tensor& mask, std::span<Tensor* const> targets) {
  auto& c = cmd.impl();
  const std::string op = "mask_apply";
  if (targets.empty() || targets.size() > kMaskApplyMaxTargets) {
    detail::fail_argument(op, "takes 1 to " + std::to_string(kMaskApplyMaxTargets) + " target tensors, got " +
                                  std::to_string(targets.size()) + "; split the targets over several calls");
  }
  detail::check_f32(c, mask, op, "mask");
  detail::require_32bit_indexable(mask, op, "mask");
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const std::string role = "targets[" + std::to_string(t) + "]";
    if (targets[t] == nullptr) detail::fail_argument(op, "'" + role + "' is a null pointer");
    detail::check_f32(c, *targets[t], op, role);
    detail::require_same_count(mask, "mask", *targets[t], role, op);
    detail::require_distinct(*targets[t], role, mask, "mask", op);
    for (std::size_t u = 0; u < t; ++u) {
      detail::require_distinct(*targets[t], role, *targets[u], "targets[" + std::to_string(u) + "]", op);
    }
  }
  const MaskApplyPush push{static_cast<uint32_t>(mask.numel())};
  const uint32_t local = detail::default_local_size(c.device());
  // Binding 0 is the mask, 1 + t target t read and 4 + t the same target written. The slots of
  // absent targets are bound to target 0, read only: the shader skips them (specialization
  // constant TARGETS).
  static_assert(kMaskApplyMaxTargets == 3, "mask_apply.comp binds three targets");
  Tensor* const t1 = targets.size() > 1 ? targets[1] : targets[0];
  Tensor* const t2 = targets.size() > 2 ? targets[2] : targets[0];
  const auto written = [&](std::size_t t) { return t < targets.size() ? detail::Access::write : detail::Access::read; };
  const std::initializer_list<detail::BufferUse> uses{{&mask, detail::Access::read},
                                                      {targets[0], detail::Access::read},
                                                      {t1, detail::Access::read},
                                                      {t2, detail::Access::read},
                                                      {targets[0], detail::Access::write},
                                                      {t1, written(1)},
                                                      {t2, written(2)}};
  const detail::Kernel kernel{"mask_apply", {local, static_cast<uint32_t>(targets.size())}, 7, sizeof push};
  // One invocation per group of 4 elements; with the cpu kernel set up to cpu::kGridSteps groups per invocation.
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), mask.numel(), local, detail::cpu::kGridSteps), 1, 1}, op);
}

}  // namespace vkgrad
