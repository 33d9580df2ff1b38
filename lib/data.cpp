#include "vkgrad/data.hpp"

#include <algorithm>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;
using detail::require_dtype;
using detail::require_f32;
using detail::require_same_count;

struct GatherPush {
  uint32_t rows, features, batch;
  float scale, shift;
};

struct LabelsPush {
  uint32_t rows, batch;
};

struct SelectPush {
  uint32_t count, stride, batch;
};

struct OneHotPush {
  uint32_t rows, classes;
  float on, off;
};

}  // namespace

void gather_rows(CommandList& cmd, const Tensor& src, const Tensor& index, Tensor& out, float scale, float shift) {
  auto& c = cmd.impl();
  const std::string op = "gather_rows";
  c.check_tensor(src, op, "src");
  c.check_tensor(index, op, "index");
  c.check_tensor(out, op, "out");
  require_dtype(src, {DType::f32, DType::u8}, op, "src");
  if (src.shape().rank() < 2) fail_argument(op, "'src' " + src.shape().to_string() + " must be (rows, features...)");
  require_dtype(index, DType::i32, op, "index");
  require_f32(out, op, "out");
  const uint64_t rows = src.shape()[0];
  const uint64_t features = src.numel() / rows;
  const uint64_t batch = index.numel();
  if (out.numel() != batch * features) {
    fail_argument(op, "'out' " + out.shape().to_string() + " must hold " + std::to_string(batch) + " rows of " +
                          std::to_string(features) + " features (index " + index.shape().to_string() + ", src " +
                          src.shape().to_string() + ")");
  }
  const GatherPush push{static_cast<uint32_t>(rows), static_cast<uint32_t>(features), static_cast<uint32_t>(batch),
                        scale, shift};
  const uint32_t local = detail::default_local_size(c.device());
  // x: groups of 4 features, y: batch rows (both grid-stride); the _texel variant stores 64-bit
  // words where the context uses texel loads (no input is read through a texel buffer).
  const std::initializer_list<detail::BufferUse> uses{
      {&src, detail::Access::read}, {&index, detail::Access::read}, {&out, detail::Access::write}};
  const uint32_t quads_flag = features % 4 == 0 ? 1u : 0u;
  const detail::Kernel kernel{"gather_rows", {local, src.dtype() == DType::u8 ? 1u : 0u, quads_flag}, 3, sizeof push};
  // With the cpu kernel set up to cpu::kGridSteps batch rows per workgroup: on lavapipe a few rows per
  // workgroup are about twice as fast as one, and more gain nothing.
  const uint32_t groups_y = detail::capped_workgroups(
      c.device(), 1, detail::grid_stride_groups(c.context(), batch, 1, detail::cpu::kGridSteps));
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::quad_grid_stride_groups(c.context(), features, local), groups_y, 1}, op);
}

void gather_labels(CommandList& cmd, const Tensor& labels, const Tensor& index, Tensor& out) {
  auto& c = cmd.impl();
  const std::string op = "gather_labels";
  c.check_tensor(labels, op, "labels");
  c.check_tensor(index, op, "index");
  c.check_tensor(out, op, "out");
  require_dtype(labels, {DType::u8, DType::i32}, op, "labels");
  require_dtype(index, DType::i32, op, "index");
  require_dtype(out, DType::i32, op, "out");
  require_same_count(index, "index", out, "out", op);
  const LabelsPush push{static_cast<uint32_t>(labels.numel()), static_cast<uint32_t>(index.numel())};
  const uint32_t local = detail::default_local_size(c.device());
  const detail::Kernel kernel{"gather_labels", {local, labels.dtype() == DType::u8 ? 1u : 0u}, 3, sizeof push};
  c.dispatch(kernel, {{&labels, detail::Access::read}, {&index, detail::Access::read}, {&out, detail::Access::write}},
             &push, sizeof push, {detail::grid_stride_groups(c.context(), index.numel(), local), 1, 1}, op);
}

void select_batch(CommandList& cmd, const Tensor& permutation, const Tensor& cursor, uint32_t stride, Tensor& index) {
  auto& c = cmd.impl();
  const std::string op = "select_batch";
  c.check_tensor(permutation, op, "permutation");
  c.check_tensor(cursor, op, "cursor");
  c.check_tensor(index, op, "index");
  require_dtype(permutation, DType::i32, op, "permutation");
  require_dtype(cursor, DType::i32, op, "cursor");
  require_dtype(index, DType::i32, op, "index");
  detail::require_numel(cursor, 1, op, "cursor");
  if (permutation.numel() > 0x7fffffffu) fail_argument(op, "'permutation' holds more than 2^31 - 1 indices");
  const SelectPush push{static_cast<uint32_t>(permutation.numel()), stride, static_cast<uint32_t>(index.numel())};
  const uint32_t local = detail::default_local_size(c.device());
  const detail::Kernel kernel{"select_batch", {local}, 3, sizeof push};
  c.dispatch(kernel,
             {{&permutation, detail::Access::read}, {&cursor, detail::Access::read}, {&index, detail::Access::write}},
             &push, sizeof push, {detail::grid_stride_groups(c.context(), index.numel(), local), 1, 1}, op);
}

void one_hot(CommandList& cmd, const Tensor& labels, Tensor& out, float on, float off) {
  auto& c = cmd.impl();
  const std::string op = "one_hot";
  c.check_tensor(labels, op, "labels");
  c.check_tensor(out, op, "out");
  require_dtype(labels, DType::i32, op, "labels");
  require_f32(out, op, "out");
  if (out.shape().rank() != 2 || out.shape()[0] != labels.numel()) {
    fail_argument(op, "'out' " + out.shape().to_string() +
                          " must be (N, classes) with N = " + std::to_string(labels.numel()) + " labels");
  }
  const OneHotPush push{static_cast<uint32_t>(labels.numel()), static_cast<uint32_t>(out.shape()[1]), on, off};
  const uint32_t local = detail::default_local_size(c.device());
  const detail::Kernel kernel{"one_hot", {local}, 2, sizeof push};
  c.dispatch(kernel, {{&labels, detail::Access::read}, {&out, detail::Access::write}}, &push, sizeof push,
             {detail::grid_stride_groups(c.context(), out.numel(), local), 1, 1}, op);
}

}  // namespace vkgrad
