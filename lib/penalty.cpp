// Weight and activity penalties (declared in vkgrad/optim.hpp): one shader, penalty_accumulate.comp.
#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "vkgrad/optim.hpp"

namespace vkgrad {

namespace {

struct PenaltyPush {
  uint32_t n;
  float lambda;
};

enum class Penalty : uint32_t { l1 = 0, l2 = 1 };

void record_penalty(CommandList& cmd, Penalty kind, const Tensor& w, Tensor& grad, float lambda, const std::string& op,
                    std::string_view w_role, std::string_view grad_role) {
  auto& c = cmd.impl();
  detail::check_f32(c, w, op, w_role);
  detail::check_f32(c, grad, op, grad_role);
  detail::require_same_count(w, w_role, grad, grad_role, op);
  detail::require_32bit_indexable(w, op, w_role);
  const PenaltyPush push{static_cast<uint32_t>(w.numel()), lambda};
  const uint32_t local = detail::default_local_size(c.device());
  // grad is bound twice: read (through a texel buffer, as w, where the context uses them) and written.
  const std::initializer_list<detail::BufferUse> uses{
      {&w, detail::Access::read}, {&grad, detail::Access::read}, {&grad, detail::Access::write}};
  const detail::Kernel kernel{"penalty_accumulate", {local, static_cast<uint32_t>(kind)}, 3, sizeof push};
  // One invocation per group of 4 elements; with the cpu kernel set up to cpu::kGridSteps groups per invocation.
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), w.numel(), local, detail::cpu::kGridSteps), 1, 1}, op);
}

}  // namespace

void l1_penalty_accumulate(CommandList& cmd, const Tensor& weight, Tensor& grad, float lambda) {
  record_penalty(cmd, Penalty::l1, weight, grad, lambda, "l1_penalty_accumulate", "weight", "grad");
}

void l2_penalty_accumulate(CommandList& cmd, const Tensor& weight, Tensor& grad, float lambda) {
  record_penalty(cmd, Penalty::l2, weight, grad, lambda, "l2_penalty_accumulate", "weight", "grad");
}

void l1_activity_penalty_accumulate(CommandList& cmd, const Tensor& y, Tensor& dy, float lambda) {
  record_penalty(cmd, Penalty::l1, y, dy, lambda, "l1_activity_penalty_accumulate", "y", "dy");
}

}  // namespace vkgrad
