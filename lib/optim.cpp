#include "vkgrad/optim.hpp"

#include <cmath>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "reduce_all.hpp"
#include "vkgrad/mask.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;
using detail::require_32bit_indexable;
using detail::require_same_count;

// Push constants of sgd_update.comp.
struct SgdPush {
  uint32_t n;
  float lr, momentum, one_minus_dampening, weight_decay;
};

// Push constants of adam_update.comp.
struct AdamPush {
  uint32_t n;
  float lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay, ln_beta1, ln_beta2, decay_factor;
};

struct ClipTotalPush {
  uint32_t count;
};
struct ClipScalePush {
  uint32_t n;
  float max_norm;
};

// At most this many partial sums per gradient tensor in clip_grad_norm: enough workgroups to keep
// a device busy, few enough that the single-workgroup total pass stays cheap.
constexpr uint32_t kClipMaxGroups = 64;

void require_f32_param(const detail::CommandListImpl& c, const Tensor& t, const Tensor& param, std::string_view op,
                       std::string_view role) {
  detail::check_f32(c, t, op, role);
  require_same_count(param, "param", t, role, op);
}

Tensor zeros_like(Context& context, const Tensor& t) {
  Tensor z(context, t.shape(), DType::f32);
  z.fill(0.0f);
  return z;
}

uint32_t clip_groups(const detail::ContextImpl& context, uint64_t n) {
  return detail::reduce_all_groups(context, n, kClipMaxGroups);
}

}  // namespace

Tensor make_step_counter(Context& context) {
  Tensor t(context, Shape{1}, DType::i32);
  t.fill(0.0f);
  return t;
}

void optimizer_advance_step(CommandList& cmd, Tensor& step) {
  auto& c = cmd.impl();
  const std::string op = "optimizer_advance_step";
  detail::check_step_counter(c, step, op, "step");
  c.dispatch(detail::Kernel{"optim_step_advance", {}, 1, 0}, {{&step, detail::Access::read_write}}, nullptr, 0,
             {1, 1, 1}, op);
}

SgdState::SgdState(Context& context, const Tensor& param) : momentum_buffer(zeros_like(context, param)) {}

AdamState::AdamState(Context& context, const Tensor& param)
    : exp_avg(zeros_like(context, param)), exp_avg_sq(zeros_like(context, param)) {}

void sgd_update(CommandList& cmd, const SgdOptions& o, Tensor& param, const Tensor& grad, SgdState& state,
                const Tensor& step) {
  auto& c = cmd.impl();
  const std::string op = "sgd_update";
  detail::check_f32(c, param, op, "param");
  require_f32_param(c, grad, param, op, "grad");
  require_f32_param(c, state.momentum_buffer, param, op, "momentum_buffer");
  detail::check_step_counter(c, step, op, "step");
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
    fail_argument(op, "nesterov momentum requires momentum > 0 and dampening == 0 (got momentum " +
                          std::to_string(o.momentum) + ", dampening " + std::to_string(o.dampening) + ")");
  }
  require_32bit_indexable(param, op, "param");
  const bool momentum = o.momentum != 0;
  // PyTorch computes 1 - dampening in double (Python float) and rounds it once to the tensor type.
  const SgdPush push{static_cast<uint32_t>(param.numel()), o.lr, o.momentum,
                     static_cast<float>(1.0 - double(o.dampening)), o.weight_decay};
  const uint32_t local = detail::default_local_size(c.device());
  // param and the momentum buffer are bound twice: read (through texel buffers where the context
  // uses them) and written (the buffer is neither read nor written without momentum).
  const std::initializer_list<detail::BufferUse> uses{
      {&param, detail::Access::read},
      {&grad, detail::Access::read},
      {&state.momentum_buffer, detail::Access::read},
      {&step, detail::Access::read},
      {&param, detail::Access::write},
      {&state.momentum_buffer, momentum ? detail::Access::write : detail::Access::read}};
  const detail::Kernel kernel{"sgd_update", {local, momentum ? 1u : 0u, o.nesterov ? 1u : 0u}, 6, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), param.numel(), local, detail::cpu::kGridSteps), 1, 1}, op);
}

void adam_update(CommandList& cmd, const AdamOptions& o, Tensor& param, const Tensor& grad, AdamState& state,
                 const Tensor& step) {
  auto& c = cmd.impl();
  const std::string op = "adam_update";
  detail::check_f32(c, param, op, "param");
  require_f32_param(c, grad, param, op, "grad");
  require_f32_param(c, state.exp_avg, param, op, "exp_avg");
  require_f32_param(c, state.exp_avg_sq, param, op, "exp_avg_sq");
  detail::check_step_counter(c, step, op, "step");
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) {
    fail_argument(op,
                  "betas must be in [0, 1), got (" + std::to_string(o.beta1) + ", " + std::to_string(o.beta2) + ")");
  }
  require_32bit_indexable(param, op, "param");
  // Host-side constants in double, rounded once, as PyTorch computes them in Python floats.
  // ln(0) = -inf gives bc = 1 for beta = 0 (expm1(-inf) = -1), which is right.
  const double b1 = o.beta1, b2 = o.beta2;
  const AdamPush push{static_cast<uint32_t>(param.numel()),
                      o.lr,
                      o.beta1,
                      o.beta2,
                      static_cast<float>(1.0 - b1),
                      static_cast<float>(1.0 - b2),
                      o.eps,
                      o.weight_decay,
                      static_cast<float>(std::log(b1)),
                      static_cast<float>(std::log(b2)),
                      static_cast<float>(1.0 - double(o.lr) * double(o.weight_decay))};
  const uint32_t local = detail::default_local_size(c.device());
  // p, m and v are bound twice: read (through texel buffers where the context uses them) and written.
  const std::initializer_list<detail::BufferUse> uses{
      {&param, detail::Access::read},          {&grad, detail::Access::read},
      {&state.exp_avg, detail::Access::read},  {&state.exp_avg_sq, detail::Access::read},
      {&step, detail::Access::read},           {&param, detail::Access::write},
      {&state.exp_avg, detail::Access::write}, {&state.exp_avg_sq, detail::Access::write}};
  const detail::Kernel kernel{"adam_update", {local, o.decoupled ? 1u : 0u}, 8, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), param.numel(), local, detail::cpu::kGridSteps), 1, 1},
             o.decoupled ? "adamw_update" : op);
}

namespace {
void require_params(const std::vector<ParamRef>& params, std::string_view op) {
  for (const ParamRef& p : params) {
    if (p.param == nullptr || p.grad == nullptr) fail_argument(op, "a parameter or gradient pointer is null");
  }
}

// Whether a step recorded now masks this parameter (a mask tensor is given and not empty).
bool masked(const ParamRef& p) { return p.mask != nullptr && !p.mask->empty(); }

// Every mask a step recorded now uses fits its parameter, checked before anything is recorded.
void require_masks(const std::vector<ParamRef>& params, std::string_view op) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!masked(params[i])) continue;
    const std::string role = "mask of parameter " + std::to_string(i);
    detail::require_f32(*params[i].mask, op, role);
    require_same_count(*params[i].param, "parameter " + std::to_string(i), *params[i].mask, role, op);
  }
}
}  // namespace

Sgd::Sgd(Context& context, std::vector<ParamRef> params, SgdOptions options)
    : params_(std::move(params)), options_(options), step_(make_step_counter(context)) {
  require_params(params_, "Sgd");
  states_.reserve(params_.size());
  for (const ParamRef& p : params_) states_.emplace_back(context, *p.param);
}

void Sgd::record_step(CommandList& cmd) {
  detail::require_not_moved_from(step_, "Sgd");
  require_masks(params_, "Sgd");
  optimizer_advance_step(cmd, step_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    sgd_update(cmd, options_, *params_[i].param, *params_[i].grad, states_[i], step_);
    if (masked(params_[i])) {
      if (options_.momentum != 0) {
        mask_apply(cmd, *params_[i].mask, {params_[i].param, &states_[i].momentum_buffer});
      } else {
        mask_apply(cmd, *params_[i].mask, {params_[i].param});
      }
    }
  }
}

Adam::Adam(Context& context, std::vector<ParamRef> params, AdamOptions options)
    : params_(std::move(params)), options_(options), step_(make_step_counter(context)) {
  require_params(params_, options.decoupled ? "AdamW" : "Adam");
  states_.reserve(params_.size());
  for (const ParamRef& p : params_) states_.emplace_back(context, *p.param);
}

void Adam::record_step(CommandList& cmd) {
  detail::require_not_moved_from(step_, "Adam");
  require_masks(params_, options_.decoupled ? "AdamW" : "Adam");
  optimizer_advance_step(cmd, step_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    adam_update(cmd, options_, *params_[i].param, *params_[i].grad, states_[i], step_);
    if (masked(params_[i])) {
      mask_apply(cmd, *params_[i].mask, {params_[i].param, &states_[i].exp_avg, &states_[i].exp_avg_sq});
    }
  }
}

uint64_t clip_grad_norm_workspace_size(const CommandList& cmd, std::span<Tensor* const> grads) {
  uint64_t total = 0;
  for (const Tensor* g : grads) {
    if (!g) fail_argument("clip_grad_norm_workspace_size", "a gradient pointer is null");
    total += clip_groups(cmd.impl().context(), g->numel());
  }
  return total;
}

void clip_grad_norm(CommandList& cmd, std::span<Tensor* const> grads, float max_norm, Tensor& total_norm,
                    Tensor& workspace) {
  auto& c = cmd.impl();
  const std::string op = "clip_grad_norm";
  detail::check_f32(c, total_norm, op, "total_norm");
  detail::require_numel(total_norm, 1, op, "total_norm");
  detail::check_f32(c, workspace, op, "workspace");
  if (grads.empty()) {  // as PyTorch: the norm of nothing is 0, and nothing is clipped
    cmd.fill(total_norm, 0.0f);
    return;
  }
  for (const Tensor* g : grads) {
    if (!g) fail_argument(op, "a gradient pointer is null");
    detail::check_f32(c, *g, op, "grads");
    require_32bit_indexable(*g, op, "grads");
  }
  const uint64_t needed = clip_grad_norm_workspace_size(cmd, grads);
  if (workspace.numel() < needed) {
    fail_argument(op, "'workspace' " + workspace.shape().to_string() + " has fewer than the " + std::to_string(needed) +
                          " elements clip_grad_norm_workspace_size() asks for");
  }
  const uint32_t local = detail::default_local_size(c.device());
  // Per tensor, partial sums of g² (the whole-tensor reduction's first pass) side by side in the workspace.
  uint32_t offset = 0;
  for (Tensor* g : grads) {
    const uint32_t groups = clip_groups(c.context(), g->numel());
    detail::record_reduce_all_partials(c, detail::ReduceAllOp::sum_of_squares, *g, workspace, offset, groups,
                                       "clip_grad_norm_partial");
    offset += groups;
  }
  const ClipTotalPush total_push{offset};
  c.dispatch(detail::Kernel{"clip_grad_norm_total", {local}, 2, sizeof total_push},
             {{&workspace, detail::Access::read}, {&total_norm, detail::Access::write}}, &total_push, sizeof total_push,
             {1, 1, 1}, "clip_grad_norm_total");
  for (Tensor* g : grads) {
    const ClipScalePush push{static_cast<uint32_t>(g->numel()), max_norm};
    // g is bound twice: read (through a texel buffer where the context uses them) and written.
    const std::initializer_list<detail::BufferUse> uses{
        {g, detail::Access::read}, {&total_norm, detail::Access::read}, {g, detail::Access::write}};
    const detail::Kernel kernel = detail::Kernel{"clip_grad_norm_scale", {local}, 3, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push,
               {detail::quad_grid_stride_groups(c.context(), g->numel(), local, detail::cpu::kGridSteps), 1, 1},
               "clip_grad_norm_scale");
  }
}

}  // namespace vkgrad
