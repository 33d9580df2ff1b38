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

// Records `columns_shader` in the per-invocation layout: an invocation per quad of channels,
// specialization 0 the local size, 1 `affine`, 2 ALIGNED.
template <class Push>
void dispatch_columns(detail::CommandListImpl& c, std::string_view columns_shader, bool affine, uint64_t channels,
                      const Push& push, std::initializer_list<detail::BufferUse> uses, const std::string& op) {
  const auto grid = column_grid(c.context(), channels);
  const uint32_t aligned = channels % 4 == 0 ? 1u : 0u;
  const detail::Kernel kernel{
      columns_shader, {grid.local, affine ? 1u : 0u, aligned}, static_cast<uint32_t>(uses.size()), sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push, {grid.groups, 1, 1}, op);
}

// Records a pass over the channels' columns (the bindings `uses`): on the per-invocation layout
// `columns_shader`, else `tiled_shader` over channel tiles of a workgroup each. `affine` is
// specialization constant 1 of the columns shader and 2 of the tiled one (unused by some shaders).
template <class Push>
void dispatch_statistics(detail::CommandListImpl& c, std::string_view tiled_shader, std::string_view columns_shader,
                         bool affine, uint64_t channels, const Push& push,
                         std::initializer_list<detail::BufferUse> uses, const std::string& op) {
  const auto bindings = static_cast<uint32_t>(uses.size());
  if (detail::per_invocation_reductions(c)) {
    dispatch_columns(c, columns_shader, affine, channels, push, uses, op);
    return;
  }
  const auto [tx, ty] = tile(c.device(), channels);
  const detail::Kernel kernel{tiled_shader, {tx, ty, affine ? 1u : 0u}, bindings, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push, {tile_groups(c.device(), channels, tx), 1, 1}, op);
}

// gamma and beta, when affine: f32, one element per channel of x, usable on this list.
void check_affine(detail::CommandListImpl& c, const BatchNormOptions& options, const Tensor& gamma, const Tensor& beta,
                  const Tensor& x, const std::string& op) {
  if (!options.affine) return;
  detail::check_f32(c, gamma, op, "gamma");
  detail::check_f32(c, beta, op, "beta");
  require_per_channel(gamma, "gamma", x, "x", op);
  require_per_channel(beta, "beta", x, "x", op);
}

// Records a pass with one invocation per element of x (grid-stride; batchnorm_eval, and
// batchnorm_normalize and batchnorm_backward_apply outside the per-invocation layout):
// specialization 0 the local size, 1 AFFINE.
template <class Push>
void dispatch_elements(detail::CommandListImpl& c, std::string_view shader, bool affine, const Tensor& x,
                       const Push& push, std::initializer_list<detail::BufferUse> uses, const std::string& label) {
  const uint32_t local = detail::default_local_size(c.device());
  const detail::Kernel kernel{shader, {local, affine ? 1u : 0u}, static_cast<uint32_t>(uses.size()), sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push, {detail::grid_stride_groups(c.context(), x.numel(), local), 1, 1},
             label);
}

// Push constants of batchnorm_normalize.comp (n: elements) and _columns.comp (n: rows).
struct NormalizePush {
  uint32_t n, channels;
  float momentum;
};
// Push constants of batchnorm_backward_apply.comp (n: elements) and _columns.comp (n: rows).
struct ApplyPush {
  uint32_t n, channels;
  float count;
};

// `t` holds `rows` rows of C values for x (N, C): "'moments' must be (4, C) = [4, 5], got [5]".
void require_channel_rows(const Tensor& t, std::string_view role, uint64_t rows, const Tensor& x, std::string_view op) {
  const uint64_t channels = x.shape()[1];
  const Shape want{rows, channels};
  if (t.shape() != want) {
    fail_argument(op, "'" + std::string(role) + "' must be (" + std::to_string(rows) + ", C) = " + want.to_string() +
                          " for 'x' " + x.shape().to_string() + ", got " + t.shape().to_string());
  }
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
  check_affine(c, options, gamma, beta, x, op);
  if (!(options.eps >= 0) || !std::isfinite(options.eps)) fail_argument(op, "eps must be finite and >= 0");
  // Without affine, x stands in for gamma and beta: the bindings must hold some buffer, and the
  // shader never reads them (AFFINE is a specialization constant).
  const Tensor& g = options.affine ? gamma : x;
  const Tensor& b = options.affine ? beta : x;

  if (!options.training) {
    const EvalPush push{static_cast<uint32_t>(x.numel()), static_cast<uint32_t>(channels), options.eps};
    dispatch_elements(c, "batchnorm_eval", options.affine, x, push,
                      {{&x, detail::Access::read},
                       {&g, detail::Access::read},
                       {&b, detail::Access::read},
                       {&running_mean, detail::Access::read},
                       {&running_var, detail::Access::read},
                       {&y, detail::Access::write}},
                      label);
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

// --- batch norm with statistics combined outside the kernels ---

void batchnorm_statistics(CommandList& cmd, const Tensor& x, Tensor& statistics) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_statistics";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, statistics, op, "statistics");
  const auto [rows, channels] = rows_channels(x, op);
  require_channel_rows(statistics, "statistics", 3, x, op);
  detail::require_32bit_indexable(x, op, "x");
  const BackwardPush push{static_cast<uint32_t>(rows), static_cast<uint32_t>(channels)};
  dispatch_statistics(c, "batchnorm_statistics", "batchnorm_statistics_columns", false, channels, push,
                      {{&x, detail::Access::read}, {&statistics, detail::Access::write}}, op);
}

void batchnorm_combine_statistics(std::span<const float> statistics, std::span<const uint64_t> counts, float eps,
                                  std::span<float> moments) {
  const std::string op = "batchnorm_combine_statistics";
  const std::size_t channels = moments.size() / 4;
  if (moments.empty() || moments.size() % 4 != 0 || statistics.size() != 3 * channels * counts.size()) {
    fail_argument(op, "expected 4·C moments and 3·C statistics per replica, got " + std::to_string(moments.size()) +
                          " moments, " + std::to_string(statistics.size()) + " statistics for " +
                          std::to_string(counts.size()) + " replicas");
  }
  if (!(eps >= 0) || !std::isfinite(eps)) fail_argument(op, "eps must be finite and >= 0");
  uint64_t total = 0;
  for (uint64_t n : counts) total += n;
  if (total < 2) {
    fail_argument(op, "expected more than 1 value per channel when training, got " + std::to_string(total) +
                          " rows over every replica");
  }
  for (std::size_t c = 0; c < channels; ++c) {
    // Chan et al.'s pairwise merge, in rank order, in double.
    double n = 0, mean = 0, m2 = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (counts[r] == 0) continue;
      const float* s = statistics.data() + 3 * channels * r;
      const double nb = double(counts[r]), hi = s[c], m2b = s[2 * channels + c];
      const double mb = std::isinf(hi) ? hi : hi + double(s[channels + c]);
      if (n == 0) {
        n = nb, mean = mb, m2 = m2b;
        continue;
      }
      const double total_n = n + nb, delta = mb - mean;
      // δ is ±inf or NaN once a mean is infinite: a weighted sum then gives inf + inf = inf and
      // inf − inf = NaN, as one batch's sum does.
      mean = std::isfinite(mean) && std::isfinite(mb) ? mean + delta * (nb / total_n) : (n * mean + nb * mb) / total_n;
      m2 = m2 + m2b + delta * delta * (n * nb / total_n);
      n = total_n;
    }
    const double var = m2 / n;
    const float hi = static_cast<float>(mean);
    moments[c] = hi;
    moments[channels + c] = std::isinf(hi) ? 0.0f : static_cast<float>(mean - double(hi));
    moments[2 * channels + c] = static_cast<float>(1.0 / std::sqrt(var + double(eps)));
    moments[3 * channels + c] = static_cast<float>(m2 / (n - 1));
  }
}

void batchnorm_normalize(CommandList& cmd, const Tensor& x, const Tensor& moments, const Tensor& gamma,
                         const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                         const BatchNormOptions& options) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_normalize";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, moments, op, "moments");
  detail::check_f32(c, running_mean, op, "running_mean");
  detail::check_f32(c, running_var, op, "running_var");
  detail::check_f32(c, y, op, "y");
  const auto [rows, channels] = rows_channels(x, op);
  require_same_shape(y, "y", x, "x", op);
  detail::require_distinct(y, "y", x, "x", op);
  require_channel_rows(moments, "moments", 4, x, op);
  require_per_channel(running_mean, "running_mean", x, "x", op);
  require_per_channel(running_var, "running_var", x, "x", op);
  check_affine(c, options, gamma, beta, x, op);
  if (!(options.momentum >= 0 && options.momentum <= 1)) fail_argument(op, "momentum must be in [0, 1]");
  detail::require_32bit_indexable(x, op, "x");
  const Tensor& g = options.affine ? gamma : x;  // bound, never read without affine
  const Tensor& b = options.affine ? beta : x;
  const std::initializer_list<detail::BufferUse> uses{{&x, detail::Access::read},
                                                      {&moments, detail::Access::read},
                                                      {&g, detail::Access::read},
                                                      {&b, detail::Access::read},
                                                      {&running_mean, detail::Access::read_write},
                                                      {&running_var, detail::Access::read_write},
                                                      {&y, detail::Access::write}};
  // The per-invocation layout walks whole channel columns (push n = rows), a vec4 of a row at a time.
  const bool columns = detail::per_invocation_reductions(c);
  const NormalizePush push{static_cast<uint32_t>(columns ? rows : x.numel()), static_cast<uint32_t>(channels),
                           options.momentum};
  if (columns)
    dispatch_columns(c, "batchnorm_normalize_columns", options.affine, channels, push, uses, op);
  else
    dispatch_elements(c, "batchnorm_normalize", options.affine, x, push, uses, op);
}

void batchnorm_backward_sums(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& moments, Tensor& sums) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_backward_sums";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, moments, op, "moments");
  detail::check_f32(c, sums, op, "sums");
  const auto [rows, channels] = rows_channels(x, op);
  require_same_shape(dy, "dy", x, "x", op);
  require_channel_rows(moments, "moments", 4, x, op);
  require_channel_rows(sums, "sums", 2, x, op);
  detail::require_32bit_indexable(x, op, "x");
  const BackwardPush push{static_cast<uint32_t>(rows), static_cast<uint32_t>(channels)};
  dispatch_statistics(c, "batchnorm_backward_sums", "batchnorm_backward_sums_columns", false, channels, push,
                      {{&x, detail::Access::read},
                       {&dy, detail::Access::read},
                       {&moments, detail::Access::read},
                       {&sums, detail::Access::write}},
                      op);
}

void batchnorm_backward_apply(CommandList& cmd, const Tensor& x, const Tensor& dy, const Tensor& moments,
                              const Tensor& global_sums, const Tensor& local_sums, uint64_t count, const Tensor& gamma,
                              Tensor& dx, Tensor& dgamma, Tensor& dbeta, const BatchNormOptions& options) {
  auto& c = cmd.impl();
  const std::string op = "batchnorm_backward_apply";
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, moments, op, "moments");
  detail::check_f32(c, global_sums, op, "global_sums");
  detail::check_f32(c, dx, op, "dx");
  const auto [rows, channels] = rows_channels(x, op);
  require_same_shape(dy, "dy", x, "x", op);
  require_same_shape(dx, "dx", x, "x", op);
  detail::require_distinct(dx, "dx", x, "x", op);
  detail::require_distinct(dx, "dx", dy, "dy", op);
  require_channel_rows(moments, "moments", 4, x, op);
  require_channel_rows(global_sums, "global_sums", 2, x, op);
  if (options.affine) {
    detail::check_f32(c, local_sums, op, "local_sums");
    detail::check_f32(c, gamma, op, "gamma");
    detail::check_f32(c, dgamma, op, "dgamma");
    detail::check_f32(c, dbeta, op, "dbeta");
    require_channel_rows(local_sums, "local_sums", 2, x, op);
    require_per_channel(gamma, "gamma", x, "x", op);
    require_per_channel(dgamma, "dgamma", x, "x", op);
    require_per_channel(dbeta, "dbeta", x, "x", op);
  }
  if (count == 0) fail_argument(op, "count (the rows over every replica) must be >= 1");
  detail::require_32bit_indexable(x, op, "x");
  // Without affine, x stands in for gamma and local_sums and dx for dgamma / dbeta; never accessed.
  const Tensor& ls = options.affine ? local_sums : x;
  const Tensor& g = options.affine ? gamma : x;
  Tensor& dg = options.affine ? dgamma : dx;
  Tensor& db = options.affine ? dbeta : dx;
  const std::initializer_list<detail::BufferUse> uses{
      {&x, detail::Access::read},           {&dy, detail::Access::read},  {&moments, detail::Access::read},
      {&global_sums, detail::Access::read}, {&ls, detail::Access::read},  {&g, detail::Access::read},
      {&dx, detail::Access::write},         {&dg, detail::Access::write}, {&db, detail::Access::write}};
  const bool columns = detail::per_invocation_reductions(c);  // push n = rows there, as in normalize
  const ApplyPush push{static_cast<uint32_t>(columns ? rows : x.numel()), static_cast<uint32_t>(channels),
                       static_cast<float>(count)};
  if (columns)
    dispatch_columns(c, "batchnorm_backward_apply_columns", options.affine, channels, push, uses, op);
  else
    dispatch_elements(c, "batchnorm_backward_apply", options.affine, x, push, uses, op);
}

}  // namespace vkgrad
