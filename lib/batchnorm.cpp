#include "vkgrad/batchnorm.hpp"

#include <algorithm>
#include <cmath>

#include "checks.hpp"
#include "cpu_kernels.hpp"
#include "command_impl.hpp"
#include "reduction_layout.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;
using detail::require_per_channel;
using detail::require_same_shape;

// Push constants of batchnorm_forward.comp.
struct ForwardPush {
  uint32_t rows, channels;
  float eps, momentum;
};
// Push constants of batchnorm_eval.comp.
struct EvalPush {
  uint32_t n, channels;
  float eps;
};
// Push constants of batchnorm_backward.comp.
struct BackwardPush {
  uint32_t rows, channels;
};

// x must be (N, C); returns {N, C}.
std::pair<uint64_t, uint64_t> rows_channels(const Tensor& x, std::string_view op) {
  detail::require_matrix(x, op, "x", {DType::f32}, "(N, C)");
  return {x.shape()[0], x.shape()[1]};
}

// The column-reduction workgroup: TX threads along channels (coalesced row segments; a tile never
// wider than C, so small C wastes no threads), TY along rows, TX·TY at most the default local size,
// so within the capacity of batchnorm_reduce.glsl's shared arrays (detail::kMaxLocalSize).
std::array<uint32_t, 2> tile(const DeviceInfo& info, uint64_t channels) {
  const uint32_t total = detail::default_local_size(info);
  const uint32_t tx = static_cast<uint32_t>(std::min<uint64_t>({channels, 32, total}));
  const uint32_t ty = std::max<uint32_t>(1, std::min<uint32_t>(total / tx, info.max_workgroup_size[1]));
  return {tx, ty};
}

// A workgroup per tile of tx channels, or fewer within the device's limit: each then loops over
// several tiles (batchnorm_forward.comp, batchnorm_backward.comp).
uint32_t tile_groups(const DeviceInfo& info, uint64_t channels, uint32_t tx) {
  return detail::capped_workgroups(info, 0, (channels + tx - 1) / tx);
}

// The per-invocation layout (batchnorm_*_columns.comp, the cpu kernel set): each invocation owns a
// quad of 4 channels; local size cpu::kColumnLocal or the device's limit.

struct ColumnGrid {
  uint32_t local, groups;
};

ColumnGrid column_grid(const detail::ContextImpl& context, uint64_t channels) {
  const uint32_t local = std::min(detail::cpu::kColumnLocal, detail::default_local_size(context.info));
  return {local, detail::quad_grid_stride_groups(context, channels, local)};
}

// Records a training-mode pass over the channels' statistics (8 bindings, `uses`): on the
// per-invocation layout `columns_shader`, else `tiled_shader` over channel tiles of a workgroup each.
template <class Push>
void dispatch_statistics(detail::CommandListImpl& c, std::string_view tiled_shader, std::string_view columns_shader,
                         bool affine, uint64_t channels, const Push& push,
                         std::initializer_list<detail::BufferUse> uses, const std::string& op) {
  if (detail::per_invocation_reductions(c)) {
    const auto grid = column_grid(c.context(), channels);
    const uint32_t aligned = channels % 4 == 0 ? 1u : 0u;
    const detail::Kernel kernel{columns_shader, {grid.local, affine ? 1u : 0u, aligned}, 8, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push, {grid.groups, 1, 1}, op);
    return;
  }
  const auto [tx, ty] = tile(c.device(), channels);
  const detail::Kernel kernel{tiled_shader, {tx, ty, affine ? 1u : 0u}, 8, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push, {tile_groups(c.device(), channels, tx), 1, 1}, op);
}

}  // namespace

void batchnorm_forward(CommandList& cmd, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, Tensor& save_mean, Tensor& save_invstd, Tensor& y,
                       const BatchNormOptions& options) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_forward";
  const std::string label = op + (options.training ? " (training)" : " (eval)");  // of the dispatch
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, y, op, "y");
  detail::check_f32(c, running_mean, op, "running_mean");
  detail::check_f32(c, running_var, op, "running_var");
  const auto [rows, channels] = rows_channels(x, op);
  require_same_shape(y, "y", x, "x", op);
  require_per_channel(running_mean, "running_mean", x, "x", op);
  require_per_channel(running_var, "running_var", x, "x", op);
  if (options.affine) {
    detail::check_f32(c, gamma, op, "gamma");
    detail::check_f32(c, beta, op, "beta");
    require_per_channel(gamma, "gamma", x, "x", op);
    require_per_channel(beta, "beta", x, "x", op);
  }
  if (!(options.eps >= 0) || !std::isfinite(options.eps)) fail_argument(op, "eps must be finite and >= 0");
  // Without affine, x stands in for gamma and beta: the bindings must hold some buffer, and the
  // shader never reads them (AFFINE is a specialization constant).
  const Tensor& g = options.affine ? gamma : x;
  const Tensor& b = options.affine ? beta : x;

  if (!options.training) {
    const uint32_t local = detail::default_local_size(c.device());
    const EvalPush push{static_cast<uint32_t>(x.numel()), static_cast<uint32_t>(channels), options.eps};
    const detail::Kernel kernel{"batchnorm_eval", {local, options.affine ? 1u : 0u}, 6, sizeof push};
    c.dispatch(kernel,
               {{&x, detail::Access::read},
                {&g, detail::Access::read},
                {&b, detail::Access::read},
                {&running_mean, detail::Access::read},
                {&running_var, detail::Access::read},
                {&y, detail::Access::write}},
               &push, sizeof push, {detail::grid_stride_groups(c.context(), x.numel(), local), 1, 1}, label);
    return;
  }

  if (rows < 2) {
    fail_argument(op, "expected more than 1 value per channel when training, got x " + x.shape().to_string());
  }
  if (!(options.momentum >= 0 && options.momentum <= 1)) fail_argument(op, "momentum must be in [0, 1]");
  detail::check_f32(c, save_mean, op, "save_mean");
  detail::check_f32(c, save_invstd, op, "save_invstd");
  require_per_channel(save_mean, "save_mean", x, "x", op);
  require_per_channel(save_invstd, "save_invstd", x, "x", op);
  const ForwardPush push{static_cast<uint32_t>(rows), static_cast<uint32_t>(channels), options.eps, options.momentum};
  const std::initializer_list<detail::BufferUse> uses{{&x, detail::Access::read},
                                                      {&g, detail::Access::read},
                                                      {&b, detail::Access::read},
                                                      {&running_mean, detail::Access::read_write},
                                                      {&running_var, detail::Access::read_write},
                                                      {&save_mean, detail::Access::write},
                                                      {&save_invstd, detail::Access::write},
                                                      {&y, detail::Access::write}};
  dispatch_statistics(c, "batchnorm_forward", "batchnorm_forward_columns", options.affine, channels, push, uses, label);
}

void batchnorm_backward(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& save_mean,
                        const Tensor& save_invstd, const Tensor& gamma, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                        const BatchNormOptions& options) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_backward";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, dx, op, "dx");
  detail::check_f32(c, save_mean, op, "save_mean");
  detail::check_f32(c, save_invstd, op, "save_invstd");
  const auto [rows, channels] = rows_channels(x, op);
  require_same_shape(dy, "dy", x, "x", op);
  require_same_shape(dx, "dx", x, "x", op);
  require_per_channel(save_mean, "save_mean", x, "x", op);
  require_per_channel(save_invstd, "save_invstd", x, "x", op);
  if (options.affine) {
    detail::check_f32(c, gamma, op, "gamma");
    detail::check_f32(c, dgamma, op, "dgamma");
    detail::check_f32(c, dbeta, op, "dbeta");
    require_per_channel(gamma, "gamma", x, "x", op);
    require_per_channel(dgamma, "dgamma", x, "x", op);
    require_per_channel(dbeta, "dbeta", x, "x", op);
  }
  // Without affine, x stands in for gamma and dx for dgamma / dbeta; the shader never touches them.
  const Tensor& g = options.affine ? gamma : x;
  Tensor& dg = options.affine ? dgamma : dx;
  Tensor& db = options.affine ? dbeta : dx;
  const BackwardPush push{static_cast<uint32_t>(rows), static_cast<uint32_t>(channels)};
  const std::initializer_list<detail::BufferUse> uses{
      {&x, detail::Access::read},           {&dy, detail::Access::read}, {&save_mean, detail::Access::read},
      {&save_invstd, detail::Access::read}, {&g, detail::Access::read},  {&dx, detail::Access::write},
      {&dg, detail::Access::write},         {&db, detail::Access::write}};
  dispatch_statistics(c, "batchnorm_backward", "batchnorm_backward_columns", options.affine, channels, push, uses, op);
}

}  // namespace vkgrad
