// Softmax family: the launchers for shaders/softmax_forward.comp and shaders/softmax_backward.comp.
#include "vkgrad/reduce.hpp"

#include <algorithm>
#include <bit>

#include "command_impl.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad {

namespace {

// Push constants shared by softmax_forward.comp and softmax_backward.comp.
struct RowsPush {
  uint32_t rows, cols;
};

void require_f32(const Tensor& t, std::string_view op, std::string_view role) {
  if (t.dtype() != DType::f32) {
    throw InvalidArgument("vkgrad: " + std::string(op) + ": '" + std::string(role) + "' must be f32, got " +
                          to_string(t.dtype()) + " " + t.shape().to_string());
  }
}

void require_same_shape(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op) {
  if (!(a.shape() == b.shape())) {
    throw InvalidArgument("vkgrad: " + std::string(op) + ": '" + std::string(a_role) + "' " + a.shape().to_string() +
                          " and '" + std::string(b_role) + "' " + b.shape().to_string() + " must have the same shape");
  }
}

// Rows = all leading dimensions, columns = the last one.
RowsPush rows_of(const Tensor& x) {
  const uint64_t cols = x.shape()[x.shape().rank() - 1];
  return {static_cast<uint32_t>(x.numel() / cols), static_cast<uint32_t>(cols)};
}

// Threads per row: enough to cover a short row once (at least one subgroup's worth of 32), at most
// the device default. A 7-column row does not need 256 threads waiting at every barrier.
uint32_t row_local_size(const detail::CommandListImpl& c, uint32_t cols) {
  const uint32_t most = detail::default_local_size(c.device());
  return std::clamp<uint32_t>(std::bit_ceil(std::max<uint32_t>(cols, 1)), std::min<uint32_t>(32, most), most);
}

void record_forward(CommandList& cmd, const Tensor& x, Tensor& y, bool log, const char* op) {
  auto& c = cmd.impl();
  c.check_tensor(x, op, "x");
  c.check_tensor(y, op, "y");
  require_f32(x, op, "x");
  require_f32(y, op, "y");
  require_same_shape(x, "x", y, "y", op);
  const RowsPush push = rows_of(x);
  const uint32_t local = row_local_size(c, push.cols);
  const detail::Kernel kernel{"softmax_forward", {local, log ? 1u : 0u}, 2, sizeof(RowsPush)};
  const uint32_t groups = detail::grid_stride_groups(c.device(), uint64_t(push.rows) * local, local);
  c.dispatch(kernel, {{&x, detail::Access::read}, {&y, detail::Access::write}}, &push, sizeof push, {groups, 1, 1},
             op);
}

void record_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx, bool log, const char* op) {
  auto& c = cmd.impl();
  c.check_tensor(y, op, "y");
  c.check_tensor(dy, op, "dy");
  c.check_tensor(dx, op, "dx");
  require_f32(y, op, "y");
  require_f32(dy, op, "dy");
  require_f32(dx, op, "dx");
  require_same_shape(y, "y", dy, "dy", op);
  require_same_shape(y, "y", dx, "dx", op);
  const RowsPush push = rows_of(y);
  const uint32_t local = row_local_size(c, push.cols);
  const detail::Kernel kernel{"softmax_backward", {local, log ? 1u : 0u}, 3, sizeof(RowsPush)};
  const uint32_t groups = detail::grid_stride_groups(c.device(), uint64_t(push.rows) * local, local);
  c.dispatch(kernel, {{&y, detail::Access::read}, {&dy, detail::Access::read}, {&dx, detail::Access::write}}, &push,
             sizeof push, {groups, 1, 1}, op);
}

}  // namespace

void softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y) { record_forward(cmd, x, y, false, "softmax_forward"); }

void log_softmax_forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  record_forward(cmd, x, y, true, "log_softmax_forward");
}

void softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx) {
  record_backward(cmd, y, dy, dx, false, "softmax_backward");
}

void log_softmax_backward(CommandList& cmd, const Tensor& y, const Tensor& dy, Tensor& dx) {
  record_backward(cmd, y, dy, dx, true, "log_softmax_backward");
}

}  // namespace vkgrad
