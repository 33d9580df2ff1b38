// Reductions: the launchers for shaders/softmax_*.comp and shaders/reduce_*.comp.
#include "vkgrad/reduce.hpp"

#include <algorithm>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "reduce_all.hpp"
#include "reduction_layout.hpp"

namespace vkgrad {

namespace {

using detail::require_same_shape;

// Push constants shared by softmax_forward.comp and softmax_backward.comp.
struct RowsPush {
  uint32_t rows, cols;
};

// Rows = all leading dimensions, columns = the last one.
RowsPush rows_of(const Tensor& x) {
  const uint64_t cols = x.shape()[x.shape().rank() - 1];
  return {static_cast<uint32_t>(x.numel() / cols), static_cast<uint32_t>(cols)};
}

void record_forward(CommandList& cmd, const Tensor& x, Tensor& y, bool log, const char* op) {
  auto& c = cmd.impl();
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, y, op, "y");
  require_same_shape(x, "x", y, "y", op);
  const RowsPush push = rows_of(x);
  const std::initializer_list<detail::BufferUse> uses{{&x, detail::Access::read}, {&y, detail::Access::write}};
  detail::dispatch_rows(c, {"softmax_forward", "softmax_forward_rows", {log ? 1u : 0u}, sizeof push}, push.rows,
                        push.cols, uses, &push, op);
}

void record_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx, bool log, const char* op) {
  auto& c = cmd.impl();
  detail::check_f32(c, y, op, "y");
  detail::check_f32(c, dy, op, "dy");
  detail::check_f32(c, dx, op, "dx");
  require_same_shape(y, "y", dy, "dy", op);
  require_same_shape(y, "y", dx, "dx", op);
  const RowsPush push = rows_of(y);
  const std::initializer_list<detail::BufferUse> uses{
      {&y, detail::Access::read}, {&dy, detail::Access::read}, {&dx, detail::Access::write}};
  detail::dispatch_rows(c, {"softmax_backward", "softmax_backward_rows", {log ? 1u : 0u}, sizeof push}, push.rows,
                        push.cols, uses, &push, op);
}

void record_reduce_all(CommandList& cmd, detail::ReduceAllOp shader_op, bool mean, const Tensor& x, Tensor& out,
                       ReduceWorkspace& workspace, const char* op) {
  auto& c = cmd.impl();
  detail::check_f32(c, x, op, "x");
  detail::check_f32(c, out, op, "out");
  c.check_tensor(workspace.partials(), op, "workspace");
  detail::require_numel(out, 1, op, "out");
  detail::record_reduce_all(c, shader_op, mean, x, workspace.partials(), out, op);
}

void record_matrix_reduce(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out, bool columns) {
  auto& c = cmd.impl();
  const char* name = columns ? "reduce_columns" : "reduce_rows";
  detail::check_f32(c, x, name, "x");
  detail::check_f32(c, out, name, "out");
  const RowsPush push = rows_of(x);
  const uint64_t want = columns ? push.cols : push.rows;
  if (out.numel() != want) {
    detail::fail_argument(name, "'x' " + x.shape().to_string() + " has " + std::to_string(want) +
                                    (columns ? " columns" : " rows") + " but 'out' " + out.shape().to_string() +
                                    " has " + std::to_string(out.numel()) + " elements");
  }
  const std::initializer_list<detail::BufferUse> uses{{&x, detail::Access::read}, {&out, detail::Access::write}};
  if (!columns) {
    detail::dispatch_rows(c, {"reduce_rows", "reduce_rows_per_row", {static_cast<uint32_t>(op)}, sizeof push},
                          push.rows, push.cols, uses, &push, name);
    return;
  }
  // The per-invocation layout (CPU devices): an invocation per 4 columns (vec4 loads) where the rows
  // are whole vec4s, in groups of 64 so that the few invocations still spread over the threads; x
  // through a texel buffer where the context uses them.
  const bool quads = detail::per_invocation_reductions(c) && push.cols % 4 == 0;
  const uint32_t local =
      quads ? std::min<uint32_t>(64, detail::default_local_size(c.device())) : detail::default_local_size(c.device());
  const detail::Kernel kernel{name, {local, static_cast<uint32_t>(op), quads ? 1u : 0u}, 2, sizeof push};
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::grid_stride_groups(c.context(), quads ? push.cols / 4 : push.cols, local), 1, 1}, name);
}

}  // namespace

ReduceWorkspace::ReduceWorkspace(Context& context) : partials_(context, {detail::kReduceAllPartials}) {}

void reduce_rows(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out) {
  record_matrix_reduce(cmd, op, x, out, false);
}

void reduce_columns(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out) {
  record_matrix_reduce(cmd, op, x, out, true);
}

void reduce_all(CommandList& cmd, ReduceOp op, const Tensor& x, Tensor& out, ReduceWorkspace& workspace) {
  record_reduce_all(cmd, op == ReduceOp::max ? detail::ReduceAllOp::max : detail::ReduceAllOp::sum,
                    op == ReduceOp::mean, x, out, workspace, "reduce_all");
}

void squared_l2_norm(CommandList& cmd, const Tensor& x, Tensor& out, ReduceWorkspace& workspace) {
  record_reduce_all(cmd, detail::ReduceAllOp::sum_of_squares, false, x, out, workspace, "squared_l2_norm");
}

void argmax_rows(CommandList& cmd, const Tensor& x, Tensor& index) {
  auto& c = cmd.impl();
  const char* op = "argmax_rows";
  detail::check_f32(c, x, op, "x");
  c.check_tensor(index, op, "index");
  detail::require_dtype(index, DType::i32, op, "index");
  const RowsPush push = rows_of(x);
  detail::require_numel(index, push.rows, op, "index", "one per row of 'x' " + x.shape().to_string());
  detail::dispatch_rows(c, {"reduce_argmax", "reduce_argmax_per_row", {}, sizeof push}, push.rows, push.cols,
                        {{&x, detail::Access::read}, {&index, detail::Access::write}}, &push, op);
}

void softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  record_forward(cmd, x, y, false, "softmax_forward");
}

void log_softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  record_forward(cmd, x, y, true, "log_softmax_forward");
}

void softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx) {
  record_backward(cmd, y, dy, dx, false, "softmax_backward");
}

void log_softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx) {
  record_backward(cmd, y, dy, dx, true, "log_softmax_backward");
}

namespace detail {

void record_reduce_all(CommandListImpl& c, ReduceAllOp op, bool mean, const Tensor& x, Tensor& partials, Tensor& out,
                       const std::string& label) {
  const uint32_t n = static_cast<uint32_t>(x.numel());
  const uint32_t groups = reduce_all_groups(c.context(), n, kReduceAllPartials);
  record_reduce_all_partials(c, op, x, partials, 0, groups, label + " (partials)");
  // The mean's 1/n is applied once, to the total (float(n) is exact up to 2^24 and within half an
  // ulp above).
  const ReduceAllPush second{groups, mean ? float(1.0 / double(n)) : 1.0f, 0};
  const ReduceAllOp second_op = op == ReduceAllOp::max ? ReduceAllOp::max : ReduceAllOp::sum;
  const uint32_t local = default_local_size(c.device());
  const std::initializer_list<BufferUse> second_uses{{&partials, Access::read}, {&out, Access::write}};
  c.dispatch(Kernel{"reduce_all", {local, static_cast<uint32_t>(second_op)}, 2, sizeof second}, second_uses, &second,
             sizeof second, {1, 1, 1}, label + " (total)");
}

uint32_t reduce_all_groups(const ContextImpl& context, uint64_t n, uint32_t max_groups) {
  const DeviceInfo& info = context.info;
  // On CPU devices at most cpu::kReduceAllGroups workgroups: each workgroup ends in a shared-memory
  // tree whose barriers llvmpipe runs by switching between the coroutines of its 8-lane batches, a
  // fixed CPU cost per workgroup that dominates a sum with hundreds of workgroups; beyond 32 fewer
  // workgroups gain nothing there. A constant, not a per-thread count, so that the summation order
  // (and the bits of the result) stays the same on every CPU device whatever its core count.
  if (context.kernels.set == KernelSet::cpu) max_groups = std::min(max_groups, cpu::kReduceAllGroups);
  // One invocation per group of 4 elements.
  return std::min(max_groups, quad_grid_stride_groups(context, n, default_local_size(info)));
}

void record_reduce_all_partials(CommandListImpl& c, ReduceAllOp op, const Tensor& x, Tensor& partials, uint32_t offset,
                                uint32_t groups, const std::string& label) {
  const uint32_t local = default_local_size(c.device());
  const ReduceAllPush push{static_cast<uint32_t>(x.numel()), 1.0f, offset};
  // x through a texel buffer where the context uses them.
  const std::initializer_list<BufferUse> uses{{&x, Access::read}, {&partials, Access::write}};
  c.dispatch(Kernel{"reduce_all", {local, static_cast<uint32_t>(op)}, 2, sizeof push}, uses, &push, sizeof push,
             {groups, 1, 1}, label);
}

}  // namespace detail

}  // namespace vkgrad
