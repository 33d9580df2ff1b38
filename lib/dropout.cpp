#include "vkgrad/dropout.hpp"

#include <array>
#include <cmath>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"

namespace vkgrad {

namespace {

// Push constants of dropout.comp.
struct DropoutPush {
  uint32_t n, seed_lo, seed_hi, step, drop_threshold;
  float scale;
  uint32_t offset;
};

// y = x · mask / (1 - p) (forward: in = x, out = y; backward: in = dy, out = dx).
void record(CommandList& cmd, const Tensor& in, Tensor& out, const DropoutOptions& o, const std::string& op,
            std::string_view in_role, std::string_view out_role) {
  auto& c = cmd.impl();
  detail::check_f32(c, in, op, in_role);
  detail::check_f32(c, out, op, out_role);
  detail::require_same_count(in, in_role, out, out_role, op);
  if (!(o.p >= 0.0f && o.p <= 1.0f)) detail::fail_argument(op, "p must be in [0, 1], got " + std::to_string(o.p));
  const auto& info = c.device();
  if (o.local_size > info.max_workgroup_size[0] || o.local_size > info.max_workgroup_invocations) {
    detail::fail_argument(op, "local_size " + std::to_string(o.local_size) + " exceeds the device's limit " +
                                  std::to_string(info.max_workgroup_size[0]));
  }
  if (in.numel() > (uint64_t{1} << 32) || o.element_offset > (uint64_t{1} << 32) - in.numel()) {
    detail::fail_argument(op, "element_offset " + std::to_string(o.element_offset) + " + " +
                                  std::to_string(in.numel()) +
                                  " elements exceeds 2^32, the elements a mask can address");
  }
  if (!o.training || o.p == 0.0f) {  // the identity
    if (&in.buffer() != &out.buffer()) cmd.copy(in, out);
    return;
  }
  if (o.step_counter != nullptr) detail::check_step_counter(c, *o.step_counter, op, "step_counter");
  const uint32_t local = o.local_size ? o.local_size : detail::default_local_size(info);
  const DropoutPush push{static_cast<uint32_t>(in.numel()),
                         static_cast<uint32_t>(o.seed),
                         static_cast<uint32_t>(o.seed >> 32),
                         o.step,
                         dropout_threshold(o.p),
                         o.p < 1.0f ? static_cast<float>(1.0 / (1.0 - double(o.p))) : 0.0f,
                         static_cast<uint32_t>(o.element_offset)};
  const uint64_t blocks = (in.numel() + 3) / 4;  // one thread per Philox block of 4 elements
  // With the cpu kernel set up to cpu::kGridSteps blocks per invocation (lib/cpu_kernels.hpp).
  const std::array<uint32_t, 3> groups{detail::grid_stride_groups(c.context(), blocks, local, detail::cpu::kGridSteps),
                                       1, 1};
  // The input is read through a texel buffer where the context does (texel_io.glsl).
  if (o.step_counter != nullptr) {
    const std::initializer_list<detail::BufferUse> uses{
        {&in, detail::Access::read}, {&out, detail::Access::write}, {o.step_counter, detail::Access::read}};
    const detail::Kernel kernel{"dropout_counter", {local}, 3, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push, groups, op);
  } else {
    const std::initializer_list<detail::BufferUse> uses{{&in, detail::Access::read}, {&out, detail::Access::write}};
    const detail::Kernel kernel{"dropout", {local}, 2, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push, groups, op);
  }
}

}  // namespace

uint32_t dropout_threshold(float p) {
  if (!(p >= 0.0f && p <= 1.0f)) {
    detail::fail_argument("dropout_threshold", "p must be in [0, 1], got " + std::to_string(p));
  }
  return static_cast<uint32_t>(std::lround(double(p) * 16777216.0));
}

void dropout_forward(CommandList& cmd, const Tensor& x, Tensor& y, const DropoutOptions& options) {
  record(cmd, x, y, options, "dropout_forward", "x", "y");
}

void dropout_backward(CommandList& cmd, const Tensor& dy, Tensor& dx, const DropoutOptions& options) {
  record(cmd, dy, dx, options, "dropout_backward", "dy", "dx");
}

}  // namespace vkgrad
