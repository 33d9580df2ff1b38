// Weight and activity penalties (declared in vkgrad/optim.hpp): one shader, penalty_accumulate.comp.
#include "command_impl.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/optim.hpp"

namespace vkgrad {

namespace {

struct PenaltyPush {
  uint32_t n;
  float lambda;
};

enum class Penalty : uint32_t { l1 = 0, l2 = 1 };

void record_penalty(CommandList& cmd, Penalty kind, const Tensor& w, Tensor& grad, float lambda,
                    const std::string& op, std::string_view w_role, std::string_view grad_role) {
  auto& c = cmd.impl();
  c.check_tensor(w, op, w_role);
  c.check_tensor(grad, op, grad_role);
  for (const Tensor* t : {&w, static_cast<const Tensor*>(&grad)}) {
    if (t->dtype() != DType::f32) {
      std::string message = "vkgrad: " + op + ": '";  // appended, not +: see require_dtype in optim.cpp
      message.append(t == &w ? w_role : grad_role).append("' must be f32, got ").append(to_string(t->dtype()));
      throw InvalidArgument(message.append(" ").append(t->shape().to_string()));
    }
  }
  if (w.numel() != grad.numel()) {
    throw InvalidArgument("vkgrad: " + op + ": '" + std::string(w_role) + "' " + w.shape().to_string() + " and '" +
                          std::string(grad_role) + "' " + grad.shape().to_string() +
                          " must have the same number of elements");
  }
  if (w.numel() > UINT32_MAX) throw InvalidArgument("vkgrad: " + op + ": more than 2^32 - 1 elements");
  const PenaltyPush push{static_cast<uint32_t>(w.numel()), lambda};
  const uint32_t local = detail::default_local_size(c.device());
  // grad is bound twice: read (through a texel buffer, as w, where the context uses them) and written.
  const std::initializer_list<detail::BufferUse> uses{
      {&w, detail::Access::read}, {&grad, detail::Access::read}, {&grad, detail::Access::write}};
  const detail::Kernel kernel{"penalty_accumulate", {local, static_cast<uint32_t>(kind)}, 3, sizeof push};
  // One invocation per group of 4 elements; on CPU devices up to kCpuGridSteps groups per invocation.
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), w.numel(), local, detail::kCpuGridSteps), 1, 1}, op);
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
