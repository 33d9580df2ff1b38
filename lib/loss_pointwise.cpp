// MSE, BCE-with-logits, L1 and smooth L1: shaders/pointwise_loss_forward.comp (per-element terms), then
// shaders/reduce_all.comp twice for mean / sum (n terms -> a fixed number of partial sums -> 1), and
// shaders/pointwise_loss_backward.comp.
#include <cmath>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "reduce_all.hpp"
#include "vkgrad/loss.hpp"

namespace vkgrad {

namespace {

struct ForwardPush {
  uint32_t n;
  float beta;
};

struct BackwardPush {
  uint32_t n;
  float scale;
  float beta;
};

// x and `other`: f32 of the same shape, with this loss object's element count.
void check_pair(CommandList& cmd, const Tensor& x, const Tensor& other, uint64_t elements, const std::string& name,
                const char* other_role) {
  auto& c = cmd.impl();
  detail::check_f32(c, x, name, "x");
  detail::check_f32(c, other, name, other_role);
  detail::require_same_shape(x, "x", other, other_role, name);
  detail::require_numel(x, elements, name, "x", "this loss object's size");
}

}  // namespace

const char* to_string(PointwiseLossKind kind) {
  switch (kind) {
    case PointwiseLossKind::mse: return "mse";
    case PointwiseLossKind::bce_with_logits: return "bce_with_logits";
    case PointwiseLossKind::l1: return "l1";
    case PointwiseLossKind::smooth_l1: return "smooth_l1";
  }
  return "unknown";
}

PointwiseLoss::PointwiseLoss(Context& context, PointwiseLossKind kind, uint64_t elements, Reduction reduction,
                             float beta)
    : kind_(kind), elements_(elements), reduction_(reduction), beta_(beta) {
  if (elements == 0) detail::fail_argument("PointwiseLoss", "elements must be >= 1");
  if (uint32_t(kind) > uint32_t(PointwiseLossKind::smooth_l1)) detail::fail_argument("PointwiseLoss", "unknown kind");
  if (kind == PointwiseLossKind::smooth_l1 && !(beta >= 0.0f && std::isfinite(beta))) {
    detail::fail_argument("PointwiseLoss", "smooth_l1's beta must be finite and >= 0 (PyTorch's default is 1), got " +
                                               std::to_string(beta));
  }
  if (reduction != Reduction::none) {
    terms_ = Tensor(context, {elements});
    partials_ = Tensor(context, {detail::kReduceAllPartials});
  }
}

void PointwiseLoss::forward(CommandList& cmd, const Tensor& x, const Tensor& target, Tensor& loss) {
  if (reduction_ != Reduction::none) detail::require_not_moved_from(terms_, "PointwiseLoss");
  auto& c = cmd.impl();
  const std::string name = std::string(to_string(kind_)) + " forward";
  check_pair(cmd, x, target, elements_, name, "target");
  detail::check_f32(c, loss, name, "loss");
  if (reduction_ == Reduction::none) {
    detail::require_numel(loss, elements_, name, "loss", "one per element for reduction none");
  } else {
    detail::require_numel(loss, 1, name, "loss", "the mean or sum");
  }
  const uint32_t local = detail::default_local_size(c.device());
  const ForwardPush push{static_cast<uint32_t>(elements_), beta_};
  const uint32_t n = push.n;
  Tensor& terms = reduction_ == Reduction::none ? loss : terms_;
  // One invocation per group of 4 elements (with the cpu kernel set up to cpu::kGridSteps groups); inputs
  // through texel buffers where the context uses them.
  const std::initializer_list<detail::BufferUse> uses{
      {&x, detail::Access::read}, {&target, detail::Access::read}, {&terms, detail::Access::write}};
  const detail::Kernel kernel{"pointwise_loss_forward", {local, static_cast<uint32_t>(kind_)}, 3, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), n, local, detail::cpu::kGridSteps), 1, 1}, name);
  if (reduction_ == Reduction::none) return;

  detail::record_reduce_all(c, detail::ReduceAllOp::sum, reduction_ == Reduction::mean, terms_, partials_, loss, name);
}

void PointwiseLoss::backward(CommandList& cmd, const Tensor& x, const Tensor& target, Tensor& dx, float dloss) {
  auto& c = cmd.impl();
  const std::string name = std::string(to_string(kind_)) + " backward";
  check_pair(cmd, x, target, elements_, name, "target");
  check_pair(cmd, x, dx, elements_, name, "dx");
  const uint32_t local = detail::default_local_size(c.device());
  const BackwardPush push{static_cast<uint32_t>(elements_),
                          reduction_ == Reduction::mean ? float(double(dloss) / double(elements_)) : dloss, beta_};
  const std::initializer_list<detail::BufferUse> uses{
      {&x, detail::Access::read}, {&target, detail::Access::read}, {&dx, detail::Access::write}};
  const detail::Kernel kernel{"pointwise_loss_backward", {local, static_cast<uint32_t>(kind_)}, 3, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), elements_, local, detail::cpu::kGridSteps), 1, 1}, name);
}

}  // namespace vkgrad
