#include "vkgrad/activation.hpp"

#include <algorithm>
#include <cstdio>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "reduction_layout.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;
using detail::require_same_count;

constexpr uint32_t count_params(std::string_view p0, std::string_view p1) {
  return (p0 != "none" ? 1u : 0u) + (p1 != "none" ? 1u : 0u);
}

const ActivationInfo kActivations[] = {
#define VKGRAD_ACTIVATION(name, id, p0, d0, p1, d1, fr, fa, br, ba) \
  {Activation::name, #name, count_params(#p0, #p1), {#p0, #p1}, {float(d0), float(d1)}, fr, fa, br, ba},
#include "vkgrad/activations.def"
#undef VKGRAD_ACTIVATION
};

// Push constants shared by activation_forward.comp and activation_backward.comp.
struct ActivationPush {
  uint32_t n;
  float p0, p1, theta;
};

// Push constants shared by the prelu_*.comp shaders.
struct PreluPush {
  uint32_t n, channels, inner;
};

ActivationPush push_for(const ActivationSpec& act, uint64_t n) {
  return {static_cast<uint32_t>(n), act.params[0], act.params[1], act.theta};
}

detail::Kernel activation_kernel(const detail::CommandListImpl& cmd, std::string_view shader, const ActivationSpec& act,
                                 uint32_t bindings) {
  const uint32_t local = detail::default_local_size(cmd.device());
  return {shader, {local, static_cast<uint32_t>(act.kind), act.sparse ? 1u : 0u}, bindings, sizeof(ActivationPush)};
}

// For prelu: the channel count and the elements per (outer, channel) pair.

PreluPush prelu_layout(const Tensor& x, const Tensor& weight, std::string_view op) {
  const uint64_t channels = weight.numel();
  uint64_t inner = 1;
  if (channels != 1) {
    if (x.shape().rank() < 2 || x.shape()[1] != channels) {
      fail_argument(op, "'weight' has " + std::to_string(channels) + " slopes but 'x' " + x.shape().to_string() +
                            " has no matching channel dimension (dimension 1); use 1 shared slope or one per channel");
    }
    for (std::size_t d = 2; d < x.shape().rank(); ++d) inner *= x.shape()[d];
  }
  return {static_cast<uint32_t>(x.numel()), static_cast<uint32_t>(channels), static_cast<uint32_t>(inner)};
}

}  // namespace

std::span<const ActivationInfo> activations() { return kActivations; }

const ActivationInfo& activation_info(Activation kind) {
  const auto i = static_cast<uint32_t>(kind);
  if (i >= std::size(kActivations)) fail_argument("activation_info", "unknown activation id " + std::to_string(i));
  return kActivations[i];
}

std::optional<Activation> activation_from_name(std::string_view name) {
  for (const auto& a : kActivations) {
    if (name == a.name) return a.kind;
  }
  return std::nullopt;
}

ActivationSpec::ActivationSpec(Activation a) : kind(a) {
  const auto& info = activation_info(a);
  params[0] = info.param_defaults[0];
  params[1] = info.param_defaults[1];
}

ActivationSpec::ActivationSpec(Activation a, float p0, float p1) : kind(a), params{p0, p1} { activation_info(a); }

ActivationSpec& ActivationSpec::set(std::string_view param_name, float value) {
  const auto& info = activation_info(kind);
  for (uint32_t i = 0; i < info.param_count; ++i) {
    if (param_name == info.param_names[i]) {
      params[i] = value;
      return *this;
    }
  }
  std::string valid;
  for (uint32_t i = 0; i < info.param_count; ++i) valid += std::string(i ? ", " : "") + info.param_names[i];
  fail_argument("ActivationSpec::set", "activation " + std::string(info.name) + " has no parameter '" +
                                           std::string(param_name) + "'" +
                                           (valid.empty() ? " (it takes none)" : "; it takes: " + valid));
}

std::string ActivationSpec::to_string() const {
  const auto& info = activation_info(kind);
  std::string s = info.name;
  if (info.param_count > 0) {
    s += "(";
    for (uint32_t i = 0; i < info.param_count; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s=%g", i ? ", " : "", info.param_names[i], double(params[i]));
      s += buf;
    }
    s += ")";
  }
  if (sparse) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", theta=%g)", double(theta));
    s = "sparse(" + s + buf;
  }
  return s;
}

// Loop steps per invocation with the cpu kernel set (detail::grid_stride_groups).
constexpr uint32_t kCpuSteps = detail::cpu::kGridSteps;

void activation_forward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, Tensor& y) {
  auto& c = cmd.impl();
  const std::string op = "activation_forward";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, y, op, "y");
  require_same_count(x, "x", y, "y", op);
  const std::initializer_list<detail::BufferUse> uses{{&x, detail::Access::read}, {&y, detail::Access::write}};
  const auto kernel = activation_kernel(c, "activation_forward", act, 2);
  const auto push = push_for(act, x.numel());
  // One invocation per group of 4 elements; with the cpu kernel set up to kCpuSteps groups per invocation.
  const uint32_t groups = detail::quad_grid_stride_groups(c.context(), x.numel(), kernel.specialization[0], kCpuSteps);
  c.dispatch(kernel, uses, &push, sizeof push, {groups, 1, 1}, op + " " + act.to_string());
}

void activation_backward(CommandList& cmd, const ActivationSpec& act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  auto& c = cmd.impl();
  const std::string op = "activation_backward";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, dx, op, "dx");
  require_same_count(x, "x", dy, "dy", op);
  require_same_count(x, "x", dx, "dx", op);
  const std::initializer_list<detail::BufferUse> uses{
      {&x, detail::Access::read}, {&dy, detail::Access::read}, {&dx, detail::Access::write}};
  const auto kernel = activation_kernel(c, "activation_backward", act, 3);
  const auto push = push_for(act, x.numel());
  // One invocation per group of 4 elements; with the cpu kernel set up to kCpuSteps groups per invocation.
  const uint32_t groups = detail::quad_grid_stride_groups(c.context(), x.numel(), kernel.specialization[0], kCpuSteps);
  c.dispatch(kernel, uses, &push, sizeof push, {groups, 1, 1}, op + " " + act.to_string());
}

void prelu_forward(CommandList& cmd, const Tensor& x, const Tensor& weight, Tensor& y) {
  auto& c = cmd.impl();
  const std::string op = "prelu_forward";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, weight, op, "weight");
  detail::check_f32(c, y, op, "y");
  require_same_count(x, "x", y, "y", op);
  const PreluPush push = prelu_layout(x, weight, op);
  const uint32_t local = detail::default_local_size(c.device());
  const detail::Kernel kernel{"prelu_forward", {local}, 3, sizeof(PreluPush)};
  c.dispatch(kernel, {{&x, detail::Access::read}, {&weight, detail::Access::read}, {&y, detail::Access::write}}, &push,
             sizeof push, {detail::grid_stride_groups(c.context(), x.numel(), local), 1, 1}, op);
}

void prelu_backward(CommandList& cmd, const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor& dx,
                    Tensor& dweight) {
  auto& c = cmd.impl();
  const std::string op = "prelu_backward";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, weight, op, "weight");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, dx, op, "dx");
  detail::check_f32(c, dweight, op, "dweight");
  require_same_count(x, "x", dy, "dy", op);
  require_same_count(x, "x", dx, "dx", op);
  require_same_count(weight, "weight", dweight, "dweight", op);
  const PreluPush push = prelu_layout(x, weight, op);
  const uint32_t local = detail::default_local_size(c.device());
  // dweight first: it reads dy, which dx may alias.
  const std::initializer_list<detail::BufferUse> wgrad_uses{
      {&x, detail::Access::read}, {&dy, detail::Access::read}, {&dweight, detail::Access::write}};
  if (detail::per_invocation_reductions(c) && push.channels >= detail::cpu::kPreluColumnsMinChannels) {
    // An invocation per 4 channels, adding their elements in order (no barriers); x and dy through
    // texel buffers where the context uses them.
    const uint32_t columns_local = std::min<uint32_t>(64, local);
    const uint32_t vec = push.inner == 1 && push.channels % 4 == 0 ? 1u : 0u;
    const detail::Kernel wgrad{"prelu_weight_grad_columns", {columns_local, vec}, 3, sizeof(PreluPush)};
    c.dispatch(wgrad, wgrad_uses, &push, sizeof push,
               {detail::quad_grid_stride_groups(c.context(), push.channels, columns_local), 1, 1}, "prelu_weight_grad");
  } else {
    const detail::Kernel wgrad{"prelu_weight_grad", {local}, 3, sizeof(PreluPush)};
    // A workgroup per channel, or each of fewer workgroups looping over several (the device's limit).
    c.dispatch(wgrad, wgrad_uses, &push, sizeof push, {detail::capped_workgroups(c.device(), 0, push.channels), 1, 1},
               "prelu_weight_grad");
  }
  const std::initializer_list<detail::BufferUse> dgrad_uses{{&x, detail::Access::read},
                                                            {&weight, detail::Access::read},
                                                            {&dy, detail::Access::read},
                                                            {&dx, detail::Access::write}};
  const detail::Kernel dgrad{"prelu_backward", {local}, 4, sizeof(PreluPush)};
  // One invocation per group of 4 elements; with the cpu kernel set up to kCpuSteps groups per invocation.
  c.dispatch(dgrad, dgrad_uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), x.numel(), local, kCpuSteps), 1, 1}, op);
}

}  // namespace vkgrad
