// Elementwise and structural ops: the launchers for shaders/binary_*.comp, unary_forward.comp,
// clamp_backward.comp, axpy.comp, copy_columns.comp and transpose.comp. A broadcast operand's
// gradient is summed over the rows by reduce_columns (vkgrad/reduce.hpp).
#include "vkgrad/elementwise.hpp"

#include <string>
#include <tuple>
#include <vector>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "vkgrad/reduce.hpp"

namespace vkgrad {

namespace {

using detail::Access;
using detail::fail_argument;

// Push constants of binary_forward.comp and binary_backward.comp.
struct BinaryPush {
  uint32_t n, cols;
};

// Push constants of unary_forward.comp, clamp_backward.comp (n, min, max) and axpy.comp (n, alpha).
struct UnaryPush {
  uint32_t n;
  float p0, p1;
};

// Push constants of copy_columns.comp.
struct CopyColumnsPush {
  uint32_t rows, width, src_cols, src_offset, dst_cols, dst_offset;
};

// binary_*.comp's BROADCAST.
enum class Broadcast : uint32_t { none, b_row, a_row };

const char* const kBinaryNames[] = {"add", "sub", "mul", "div"};

std::string binary_name(BinaryOp op, const char* pass) {
  const auto i = static_cast<uint32_t>(op);
  if (i >= std::size(kBinaryNames)) fail_argument("binary_forward", "unknown BinaryOp " + std::to_string(i));
  return std::string(kBinaryNames[i]) + " " + pass;
}

// `row` is a row vector, (cols) or (1, cols), of the last dimension of `full`.
bool is_row_of(const Tensor& row, const Tensor& full) {
  const Shape& s = row.shape();
  const uint64_t cols = full.shape()[full.shape().rank() - 1];
  return (s.rank() == 1 || (s.rank() == 2 && s[0] == 1)) && s[s.rank() - 1] == cols;
}

// How a and b combine: the same shape, or one of them a row vector over the other's rows.
struct BinaryLayout {
  Broadcast broadcast;
  const Tensor* full;  // the operand with the result's shape
  uint32_t cols;
};

BinaryLayout binary_layout(detail::CommandListImpl& c, const Tensor& a, const Tensor& b, const std::string& op) {
  detail::check_f32(c, a, op, "a");
  detail::check_f32(c, b, op, "b");
  if (a.empty() || b.empty()) fail_argument(op, "'a' and 'b' must not be empty");
  detail::require_32bit_indexable(a, op, "a");
  detail::require_32bit_indexable(b, op, "b");
  if (a.shape() == b.shape()) return {Broadcast::none, &a, static_cast<uint32_t>(a.numel())};
  // (cols) with (1, cols) is a row vector either way: the result is (1, cols), as in PyTorch.
  const bool b_row = is_row_of(b, a) && b.shape().rank() <= a.shape().rank();
  if (b_row) return {Broadcast::b_row, &a, static_cast<uint32_t>(b.numel())};
  if (is_row_of(a, b)) return {Broadcast::a_row, &b, static_cast<uint32_t>(a.numel())};
  fail_argument(op, "'a' " + a.shape().to_string() + " and 'b' " + b.shape().to_string() +
                        " must have the same shape, or one must be a row vector (cols) or (1, cols) of the other's "
                        "last dimension");
}

uint32_t elementwise_groups(const detail::CommandListImpl& c, uint64_t n, uint32_t local) {
  // One invocation per group of 4 elements; with the cpu kernel set up to cpu::kGridSteps groups per
  // invocation.
  return detail::quad_grid_stride_groups(c.context(), n, local, detail::cpu::kGridSteps);
}

// The gradient of one operand (`wrt` 0: a, 1: b) into `grad`: written elementwise when that operand
// has the full shape, else summed over the rows of its elementwise gradient.
void record_operand_gradient(detail::CommandListImpl& c, CommandList& cmd, BinaryOp op, const BinaryLayout& layout,
                             const Tensor& a, const Tensor& b, const Tensor& dout, Tensor& grad, uint32_t wrt,
                             Tensor* scratch, const std::string& name) {
  const bool row =
      (wrt == 0 && layout.broadcast == Broadcast::a_row) || (wrt == 1 && layout.broadcast == Broadcast::b_row);
  if (row && op == BinaryOp::add) {  // the elementwise gradient is dout itself
    reduce_columns(cmd, ReduceOp::sum, dout, grad);
    return;
  }
  if (row && scratch == nullptr) {
    fail_argument(name, std::string("the gradient of the broadcast row vector '") + (wrt == 0 ? "a" : "b") +
                            "' needs 'scratch': pass an f32 tensor of " + std::to_string(dout.numel()) +
                            " elements (dout's size)");
  }
  Tensor& elementwise = row ? *scratch : grad;
  const uint32_t local = detail::default_local_size(c.device());
  const BinaryPush push{static_cast<uint32_t>(dout.numel()), layout.cols};
  const detail::Kernel kernel{"binary_backward",
                              {local, static_cast<uint32_t>(op), static_cast<uint32_t>(layout.broadcast), wrt},
                              4,
                              sizeof push};
  c.dispatch(kernel, {{&a, Access::read}, {&b, Access::read}, {&dout, Access::read}, {&elementwise, Access::write}},
             &push, sizeof push, {elementwise_groups(c, dout.numel(), local), 1, 1}, name);
  if (row) reduce_columns(cmd, ReduceOp::sum, *scratch, grad);
}

void check_same_count_f32(detail::CommandListImpl& c, const Tensor& x, const char* x_role, const Tensor& y,
                          const char* y_role, const char* op) {
  detail::check_f32(c, x, op, x_role);
  detail::check_f32(c, y, op, y_role);
  detail::require_same_count(x, x_role, y, y_role, op);
  detail::require_32bit_indexable(x, op, x_role);
}

void record_unary(CommandList& cmd, uint32_t kind, const Tensor& x, Tensor& y, float p0, float p1, const char* op) {
  auto& c = cmd.impl();
  check_same_count_f32(c, x, "x", y, "y", op);
  detail::require_distinct(y, "y", x, "x", op);
  const uint32_t local = detail::default_local_size(c.device());
  const UnaryPush push{static_cast<uint32_t>(x.numel()), p0, p1};
  c.dispatch(detail::Kernel{"unary_forward", {local, kind}, 2, sizeof push}, {{&x, Access::read}, {&y, Access::write}},
             &push, sizeof push, {elementwise_groups(c, x.numel(), local), 1, 1}, op);
}

// Columns `offset` .. offset + width of every row of the matrix `src` / `dst` copied as a block
// (copy_columns.comp).
void record_copy_columns(detail::CommandListImpl& c, const Tensor& src, uint64_t src_offset, Tensor& dst,
                         uint64_t dst_offset, uint64_t width, const char* op) {
  const uint64_t rows = src.shape()[0];
  const CopyColumnsPush push{static_cast<uint32_t>(rows),           static_cast<uint32_t>(width),
                             static_cast<uint32_t>(src.shape()[1]), static_cast<uint32_t>(src_offset),
                             static_cast<uint32_t>(dst.shape()[1]), static_cast<uint32_t>(dst_offset)};
  const uint32_t local = detail::default_local_size(c.device());
  c.dispatch(detail::Kernel{"copy_columns", {local}, 2, sizeof push}, {{&src, Access::read}, {&dst, Access::write}},
             &push, sizeof push, {detail::grid_stride_groups(c.context(), rows * width, local), 1, 1}, op);
}

// The blocks of concat_columns / split_columns: `parts` are 2-D f32 (rows, w_i) tensors, `whole` is
// (rows, Σ w_i) and distinct from each of them. Returns nothing; throws InvalidArgument otherwise.
void check_column_blocks(detail::CommandListImpl& c, const Tensor& whole, const char* whole_role,
                         std::span<const Tensor* const> parts, const char* part_role, const char* op) {
  if (parts.empty()) fail_argument(op, std::string("needs at least one '") + part_role + "' tensor");
  c.check_tensor(whole, op, whole_role);
  detail::require_matrix(whole, op, whole_role, {DType::f32}, "(rows, features)");
  detail::require_32bit_indexable(whole, op, whole_role);
  uint64_t width = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string role = std::string(part_role) + "[" + std::to_string(i) + "]";
    if (parts[i] == nullptr) fail_argument(op, "'" + role + "' is null");
    const Tensor& part = *parts[i];
    c.check_tensor(part, op, role);
    detail::require_matrix(part, op, role, {DType::f32}, "(rows, features)");
    if (part.shape()[0] != whole.shape()[0]) {
      fail_argument(op, "'" + role + "' " + part.shape().to_string() + " has " + std::to_string(part.shape()[0]) +
                            " rows but '" + whole_role + "' " + whole.shape().to_string() + " has " +
                            std::to_string(whole.shape()[0]));
    }
    detail::require_distinct(whole, whole_role, part, role, op);
    width += part.shape()[1];
  }
  if (width != whole.shape()[1]) {
    fail_argument(op, "the " + std::to_string(parts.size()) + " '" + part_role + "' tensors have " +
                          std::to_string(width) + " columns together but '" + whole_role + "' " +
                          whole.shape().to_string() + " has " + std::to_string(whole.shape()[1]));
  }
}

}  // namespace

void binary_forward(CommandList& cmd, BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  auto& c = cmd.impl();
  const std::string name = binary_name(op, "forward");
  const BinaryLayout layout = binary_layout(c, a, b, name);
  detail::check_f32(c, out, name, "out");
  detail::require_same_shape(out, "out", *layout.full, layout.full == &a ? "a" : "b", name);
  detail::require_distinct(out, "out", a, "a", name);
  detail::require_distinct(out, "out", b, "b", name);
  const uint32_t local = detail::default_local_size(c.device());
  const BinaryPush push{static_cast<uint32_t>(out.numel()), layout.cols};
  const detail::Kernel kernel{
      "binary_forward", {local, static_cast<uint32_t>(op), static_cast<uint32_t>(layout.broadcast)}, 3, sizeof push};
  c.dispatch(kernel, {{&a, Access::read}, {&b, Access::read}, {&out, Access::write}}, &push, sizeof push,
             {elementwise_groups(c, out.numel(), local), 1, 1}, name);
}

void binary_backward(CommandList& cmd, BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dout, Tensor& da,
                     Tensor& db, Tensor* scratch) {
  auto& c = cmd.impl();
  const std::string name = binary_name(op, "backward");
  const BinaryLayout layout = binary_layout(c, a, b, name);
  detail::check_f32(c, dout, name, "dout");
  detail::require_same_shape(dout, "dout", *layout.full, layout.full == &a ? "a" : "b", name);
  const Tensor* inputs[] = {&a, &b, &dout};
  const char* input_roles[] = {"a", "b", "dout"};
  for (auto [grad, role, operand] : {std::tuple<Tensor*, const char*, const Tensor*>{&da, "da", &a}, {&db, "db", &b}}) {
    if (grad->empty()) continue;
    detail::check_f32(c, *grad, name, role);
    detail::require_same_shape(*grad, role, *operand, operand == &a ? "a" : "b", name);
    for (std::size_t i = 0; i < 3; ++i) detail::require_distinct(*grad, role, *inputs[i], input_roles[i], name);
  }
  if (!da.empty() && !db.empty()) detail::require_distinct(da, "da", db, "db", name);
  if (scratch != nullptr) {
    detail::check_f32(c, *scratch, name, "scratch");
    detail::require_numel(*scratch, dout.numel(), name, "scratch", "dout's size");
    for (std::size_t i = 0; i < 3; ++i) detail::require_distinct(*scratch, "scratch", *inputs[i], input_roles[i], name);
    if (!da.empty()) detail::require_distinct(*scratch, "scratch", da, "da", name);
    if (!db.empty()) detail::require_distinct(*scratch, "scratch", db, "db", name);
  }
  if (!da.empty()) record_operand_gradient(c, cmd, op, layout, a, b, dout, da, 0, scratch, name);
  if (!db.empty()) record_operand_gradient(c, cmd, op, layout, a, b, dout, db, 1, scratch, name);
}

void scale(CommandList& cmd, float alpha, const Tensor& x, Tensor& y) { record_unary(cmd, 0, x, y, alpha, 0, "scale"); }

void axpy(CommandList& cmd, float alpha, const Tensor& x, Tensor& y) {
  auto& c = cmd.impl();
  const char* op = "axpy";
  check_same_count_f32(c, x, "x", y, "y", op);
  detail::require_distinct(y, "y", x, "x", op);
  const uint32_t local = detail::default_local_size(c.device());
  const UnaryPush push{static_cast<uint32_t>(x.numel()), alpha, 0};
  // y is bound twice, read (binding 1) and written (binding 2): see axpy.comp.
  c.dispatch(detail::Kernel{"axpy", {local}, 3, sizeof push},
             {{&x, Access::read}, {&y, Access::read}, {&y, Access::write}}, &push, sizeof push,
             {elementwise_groups(c, x.numel(), local), 1, 1}, op);
}

void clamp_forward(CommandList& cmd, const Tensor& x, Tensor& y, float min, float max) {
  record_unary(cmd, 1, x, y, min, max, "clamp_forward");
}

void clamp_backward(CommandList& cmd, const Tensor& x, const Tensor& dy, Tensor& dx, float min, float max) {
  auto& c = cmd.impl();
  const char* op = "clamp_backward";
  check_same_count_f32(c, x, "x", dy, "dy", op);
  check_same_count_f32(c, x, "x", dx, "dx", op);
  detail::require_distinct(dx, "dx", x, "x", op);
  detail::require_distinct(dx, "dx", dy, "dy", op);
  const uint32_t local = detail::default_local_size(c.device());
  const UnaryPush push{static_cast<uint32_t>(x.numel()), min, max};
  c.dispatch(detail::Kernel{"clamp_backward", {local}, 3, sizeof push},
             {{&x, Access::read}, {&dy, Access::read}, {&dx, Access::write}}, &push, sizeof push,
             {elementwise_groups(c, x.numel(), local), 1, 1}, op);
}

void concat_columns(CommandList& cmd, std::span<const Tensor* const> inputs, Tensor& y) {
  auto& c = cmd.impl();
  const char* op = "concat_columns";
  check_column_blocks(c, y, "y", inputs, "inputs", op);
  // One dispatch (two bindings) per input: any number of inputs stays within the descriptor limits.
  uint64_t offset = 0;
  for (const Tensor* input : inputs) {
    record_copy_columns(c, *input, 0, y, offset, input->shape()[1], op);
    offset += input->shape()[1];
  }
}

void split_columns(CommandList& cmd, const Tensor& x, std::span<Tensor* const> outputs) {
  auto& c = cmd.impl();
  const char* op = "split_columns";
  const std::vector<const Tensor*> parts(outputs.begin(), outputs.end());
  check_column_blocks(c, x, "x", parts, "outputs", op);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      detail::require_distinct(*outputs[i], "outputs[" + std::to_string(i) + "]", *outputs[j],
                               "outputs[" + std::to_string(j) + "]", op);
    }
  }
  uint64_t offset = 0;
  for (Tensor* output : outputs) {
    record_copy_columns(c, x, offset, *output, 0, output->shape()[1], op);
    offset += output->shape()[1];
  }
}

void transpose(CommandList& cmd, const Tensor& x, Tensor& y) {
  auto& c = cmd.impl();
  const char* op = "transpose";
  c.check_tensor(x, op, "x");
  c.check_tensor(y, op, "y");
  detail::require_matrix(x, op, "x", {DType::f32}, "(rows, cols)");
  detail::require_matrix(y, op, "y", {DType::f32}, "(cols, rows)");
  detail::require_32bit_indexable(x, op, "x");
  if (y.shape()[0] != x.shape()[1] || y.shape()[1] != x.shape()[0]) {
    fail_argument(op, "'y' " + y.shape().to_string() + " must be the transposed shape of 'x' " + x.shape().to_string() +
                          ": [" + std::to_string(x.shape()[1]) + ", " + std::to_string(x.shape()[0]) + "]");
  }
  detail::require_distinct(y, "y", x, "x", op);
  const struct { uint32_t rows, cols; } push{static_cast<uint32_t>(x.shape()[0]), static_cast<uint32_t>(x.shape()[1])};
  const uint32_t local = detail::default_local_size(c.device());
  // GPU kernels: a workgroup per shared-memory tile (looping over several where the device's limit
  // is lower). CPU kernels: an element per invocation, no shared memory or barriers.
  const bool tiled = c.context().kernels.set == KernelSet::gpu;
  const uint64_t tile = VKGRAD_TRANSPOSE_TILE;
  const uint32_t groups =
      tiled ? detail::capped_workgroups(c.device(), 0,
                                        ((x.shape()[0] + tile - 1) / tile) * ((x.shape()[1] + tile - 1) / tile))
            : detail::grid_stride_groups(c.context(), x.numel(), local);
  c.dispatch(detail::Kernel{"transpose", {local, tiled ? 1u : 0u}, 2, sizeof push},
             {{&x, Access::read}, {&y, Access::write}}, &push, sizeof push, {groups, 1, 1}, op);
}

}  // namespace vkgrad
