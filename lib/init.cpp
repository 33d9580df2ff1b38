#include "vkgrad/init.hpp"

#include <cmath>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;
using detail::require_f32;

// Push constants of init_random.comp.
struct InitPush {
  uint32_t n, seed_lo, seed_hi;
  float p0, p1;
};

enum class Distribution : uint32_t { uniform = 0, normal = 1 };

void record_random(CommandList& cmd, Tensor& tensor, Distribution dist, double p0, double p1, uint64_t seed,
                   const std::string& op) {
  auto& c = cmd.impl();
  detail::check_f32(c, tensor, op, "tensor");
  detail::require_32bit_indexable(tensor, op, "tensor");
  const InitPush push{static_cast<uint32_t>(tensor.numel()), static_cast<uint32_t>(seed),
                      static_cast<uint32_t>(seed >> 32), static_cast<float>(p0), static_cast<float>(p1)};
  const uint32_t local = detail::default_local_size(c.device());
  // The _texel build where the context uses texel loads (64-bit stores; nothing is read).
  const std::initializer_list<detail::BufferUse> uses{{&tensor, detail::Access::write}};
  const detail::Kernel kernel{"init_random", {local, static_cast<uint32_t>(dist)}, 1, sizeof push};
  // One invocation per group of 4 elements; with the cpu kernel set up to cpu::kGridSteps groups per invocation.
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), tensor.numel(), local, detail::cpu::kGridSteps), 1, 1}, op);
}

double fan(const Shape& shape, FanMode mode) {
  const Fans f = calculate_fans(shape);
  return static_cast<double>(mode == FanMode::fan_in ? f.fan_in : f.fan_out);
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu: return 3.0 / 4.0;
  }
  fail_argument("calculate_gain", "unknown nonlinearity " + std::to_string(static_cast<int>(nonlinearity)));
}

Fans calculate_fans(const Shape& shape) {
  if (shape.rank() < 2) {
    fail_argument(
        "calculate_fans",
        "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got " + shape.to_string());
  }
  uint64_t receptive_field = 1;
  for (std::size_t d = 2; d < shape.rank(); ++d) receptive_field *= shape[d];
  return {shape[1] * receptive_field, shape[0] * receptive_field};
}

double xavier_uniform_bound(const Shape& shape, double gain) {
  const Fans f = calculate_fans(shape);
  return gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
}

double kaiming_std(const Shape& shape, double a, FanMode mode, Nonlinearity nonlinearity) {
  return calculate_gain(nonlinearity, a) / std::sqrt(fan(shape, mode));
}

void init_constant(CommandList& cmd, Tensor& tensor, float value) {
  require_f32(tensor, "init_constant", "tensor");
  cmd.fill(tensor, value);
}
void init_zeros(CommandList& cmd, Tensor& tensor) { init_constant(cmd, tensor, 0.0f); }
void init_ones(CommandList& cmd, Tensor& tensor) { init_constant(cmd, tensor, 1.0f); }

void init_uniform(CommandList& cmd, Tensor& tensor, float a, float b, uint64_t seed) {
  if (!(a <= b)) {
    fail_argument("init_uniform", "needs a <= b, got a = " + std::to_string(a) + ", b = " + std::to_string(b));
  }
  record_random(cmd, tensor, Distribution::uniform, a, b, seed, "init_uniform");
}

void init_normal(CommandList& cmd, Tensor& tensor, float mean, float std, uint64_t seed) {
  if (!(std >= 0)) fail_argument("init_normal", "needs std >= 0, got " + std::to_string(std));
  record_random(cmd, tensor, Distribution::normal, mean, std, seed, "init_normal");
}

void init_xavier_uniform(CommandList& cmd, Tensor& tensor, uint64_t seed, double gain) {
  cmd.impl().check_tensor(tensor, "init_xavier_uniform", "tensor");  // before its shape is used
  const double bound = xavier_uniform_bound(tensor.shape(), gain);
  record_random(cmd, tensor, Distribution::uniform, -bound, bound, seed, "init_xavier_uniform");
}

void init_xavier_normal(CommandList& cmd, Tensor& tensor, uint64_t seed, double gain) {
  cmd.impl().check_tensor(tensor, "init_xavier_normal", "tensor");  // before its shape is used
  const Fans f = calculate_fans(tensor.shape());
  const double std = gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out));
  record_random(cmd, tensor, Distribution::normal, 0.0, std, seed, "init_xavier_normal");
}

void init_kaiming_uniform(CommandList& cmd, Tensor& tensor, uint64_t seed, double a, FanMode mode,
                          Nonlinearity nonlinearity) {
  cmd.impl().check_tensor(tensor, "init_kaiming_uniform", "tensor");  // before its shape is used
  const double bound = std::sqrt(3.0) * kaiming_std(tensor.shape(), a, mode, nonlinearity);
  record_random(cmd, tensor, Distribution::uniform, -bound, bound, seed, "init_kaiming_uniform");
}

void init_kaiming_normal(CommandList& cmd, Tensor& tensor, uint64_t seed, double a, FanMode mode,
                         Nonlinearity nonlinearity) {
  cmd.impl().check_tensor(tensor, "init_kaiming_normal", "tensor");  // before its shape is used
  const double std = kaiming_std(tensor.shape(), a, mode, nonlinearity);
  record_random(cmd, tensor, Distribution::normal, 0.0, std, seed, "init_kaiming_normal");
}

}  // namespace vkgrad
