// Cross-entropy and NLL: the launchers for shaders/cross_entropy_loss_*.comp, nll_loss_*.comp and the
// class_loss_*.comp kernels they share.
//   forward:  class_loss_labels (status) -> cross_entropy_loss_forward (per-row losses)
//             -> class_loss_reduce (mean / sum; one workgroup, fixed order)
//   backward: class_loss_labels (status, holding the mean's divisor) -> cross_entropy_loss_backward
// In the per-invocation layout (lib/reduction_layout.hpp; CPU devices) cross_entropy_loss_*_rows
// replace cross_entropy_loss_forward / _backward.
// NLL has the same structure with nll_loss_forward / nll_loss_backward.
#include "vkgrad/loss.hpp"

#include <algorithm>

#include "checks.hpp"
#include "cpu_kernels.hpp"
#include "command_impl.hpp"
#include "reduction_layout.hpp"

namespace vkgrad {

namespace {

using detail::fail_argument;

struct LabelsPush {
  uint32_t rows, cols;
  int32_t ignore_index;
};

struct ForwardPush {
  uint32_t rows, cols;
  int32_t ignore_index;
  float label_smoothing;
};

struct ReducePush {
  uint32_t rows;
};

struct BackwardPush {
  uint32_t rows, cols;
  int32_t ignore_index;
  float label_smoothing, grad_scale;
};

constexpr uint32_t kStatusSize = 4;

std::string op_name(const char* op) { return std::string("cross_entropy ") + op; }

// Local size of the one-workgroup kernels class_loss_labels and class_loss_reduce: the device's
// default, or cpu::kSingleGroupLocal in the per-invocation layout.

uint32_t single_group_local(const detail::CommandListImpl& c) {
  const uint32_t most = detail::default_local_size(c.device());
  return detail::per_invocation_reductions(c) ? std::min(detail::cpu::kSingleGroupLocal, most) : most;
}

// Logits / log-probabilities (rows, C) f32 and labels (rows) i32.
void check_class_inputs(CommandList& cmd, uint64_t rows, const Tensor& scores, const Tensor& labels,
                        const std::string& name, const char* scores_role) {
  auto& c = cmd.impl();
  c.check_tensor(scores, name, scores_role);
  c.check_tensor(labels, name, "labels");
  if (scores.dtype() != DType::f32 || labels.dtype() != DType::i32) {
    fail_argument(name, std::string(scores_role) + " must be f32 and labels i32, got " + scores_role + " " +
                            to_string(scores.dtype()) + " " + scores.shape().to_string() + " and labels " +
                            to_string(labels.dtype()) + " " + labels.shape().to_string());
  }
  if (scores.shape().rank() != 2 || scores.shape()[0] != rows || labels.numel() != rows) {
    fail_argument(name, "expected " + std::string(scores_role) + " (" + std::to_string(rows) + ", C) and labels (" +
                            std::to_string(rows) + ") for this loss object, got " + scores_role + " " +
                            scores.shape().to_string() + " and labels " + labels.shape().to_string());
  }
}

void check_loss_output(CommandList& cmd, uint64_t rows, Reduction reduction, const Tensor& loss,
                       const std::string& name) {
  detail::check_f32(cmd.impl(), loss, name, "loss");
  if (reduction == Reduction::none) {
    detail::require_numel(loss, rows, name, "loss", "one per row for reduction none");
  } else {
    detail::require_numel(loss, 1, name, "loss", "the mean or sum");
  }
}

// The gradient of `like` (role `like_role`): f32 of its shape.
void check_gradient(CommandList& cmd, const Tensor& grad, const Tensor& like, const std::string& name, const char* role,
                    const char* like_role) {
  detail::check_f32(cmd.impl(), grad, name, role);
  detail::require_same_shape(grad, role, like, like_role, name);
}

Tensor make_status(Context& context) {
  Tensor status(context, {kStatusSize}, DType::i32);
  const int32_t no_bad_label[kStatusSize] = {-1, 0, 0, 0};  // check_labels() before any run passes
  status.upload(std::span<const int32_t>(no_bad_label));
  return status;
}

void record_label_check(CommandList& cmd, uint64_t rows, const Tensor& labels, uint32_t cols, int32_t ignore_index,
                        Tensor& status) {
  auto& c = cmd.impl();
  const uint32_t local = single_group_local(c);
  const LabelsPush push{static_cast<uint32_t>(rows), cols, ignore_index};
  c.dispatch(detail::Kernel{"class_loss_labels", {local}, 2, sizeof push},
             {{&labels, detail::Access::read}, {&status, detail::Access::write}}, &push, sizeof push, {1, 1, 1},
             "class_loss_labels");
}

// loss[0] = Σ row_loss (÷ status[2] for mean), one workgroup.
void record_row_reduce(CommandList& cmd, uint64_t rows, Reduction reduction, const Tensor& row_loss,
                       const Tensor& status, Tensor& loss) {
  auto& c = cmd.impl();
  const uint32_t local = single_group_local(c);
  const ReducePush push{static_cast<uint32_t>(rows)};
  const uint32_t mean = reduction == Reduction::mean ? 1u : 0u;
  c.dispatch(detail::Kernel{"class_loss_reduce", {local, mean}, 3, sizeof push},
             {{&row_loss, detail::Access::read}, {&status, detail::Access::read}, {&loss, detail::Access::write}},
             &push, sizeof push, {1, 1, 1}, "class_loss_reduce");
}

}  // namespace

CrossEntropyLoss::CrossEntropyLoss(Context& context, uint64_t rows, CrossEntropyOptions options)
    : rows_(rows), options_(options) {
  if (rows == 0) fail_argument("CrossEntropyLoss", "rows must be >= 1");
  if (!(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f)) {
    fail_argument("CrossEntropyLoss",
                  "label_smoothing must be in [0, 1), got " + std::to_string(options.label_smoothing));
  }
  if (options.reduction != Reduction::none) row_loss_ = Tensor(context, {rows});
  status_ = make_status(context);
}

void CrossEntropyLoss::forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss) {
  detail::require_not_moved_from(status_, "CrossEntropyLoss");
  auto& c = cmd.impl();
  const std::string name = op_name("forward");
  check_class_inputs(cmd, rows_, logits, labels, name, "logits");
  check_loss_output(cmd, rows_, options_.reduction, loss, name);
  const uint32_t cols = static_cast<uint32_t>(logits.shape()[1]);
  record_label_check(cmd, rows_, labels, cols, options_.ignore_index, status_);

  Tensor& row_loss = options_.reduction == Reduction::none ? loss : row_loss_;
  const ForwardPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index, options_.label_smoothing};
  const std::initializer_list<detail::BufferUse> uses{
      {&logits, detail::Access::read}, {&labels, detail::Access::read}, {&row_loss, detail::Access::write}};
  detail::dispatch_rows(c, {"cross_entropy_loss_forward", "cross_entropy_loss_forward_rows", {}, sizeof push}, rows_,
                        cols, uses, &push, name);
  if (options_.reduction != Reduction::none)
    record_row_reduce(cmd, rows_, options_.reduction, row_loss_, status_, loss);
}

void CrossEntropyLoss::backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits,
                                float dloss) {
  detail::require_not_moved_from(status_, "CrossEntropyLoss");
  auto& c = cmd.impl();
  const std::string name = op_name("backward");
  check_class_inputs(cmd, rows_, logits, labels, name, "logits");
  check_gradient(cmd, dlogits, logits, name, "dlogits", "logits");
  const uint32_t cols = static_cast<uint32_t>(logits.shape()[1]);
  record_label_check(cmd, rows_, labels, cols, options_.ignore_index, status_);
  const BackwardPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index, options_.label_smoothing, dloss};
  const uint32_t mean = options_.reduction == Reduction::mean ? 1u : 0u;
  const std::initializer_list<detail::BufferUse> uses{{&logits, detail::Access::read},
                                                      {&labels, detail::Access::read},
                                                      {&status_, detail::Access::read},
                                                      {&dlogits, detail::Access::write}};
  detail::dispatch_rows(c, {"cross_entropy_loss_backward", "cross_entropy_loss_backward_rows", {mean}, sizeof push},
                        rows_, cols, uses, &push, name);
}

void CrossEntropyLoss::check_labels() const { check_label_status(status_, options_.ignore_index); }

NllLoss::NllLoss(Context& context, uint64_t rows, NllOptions options) : rows_(rows), options_(options) {
  if (rows == 0) fail_argument("NllLoss", "rows must be >= 1");
  if (options.reduction != Reduction::none) row_loss_ = Tensor(context, {rows});
  status_ = make_status(context);
}

void NllLoss::forward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& loss) {
  detail::require_not_moved_from(status_, "NllLoss");
  auto& c = cmd.impl();
  const std::string name = "nll forward";
  check_class_inputs(cmd, rows_, log_probs, labels, name, "log_probs");
  check_loss_output(cmd, rows_, options_.reduction, loss, name);
  const uint32_t cols = static_cast<uint32_t>(log_probs.shape()[1]);
  record_label_check(cmd, rows_, labels, cols, options_.ignore_index, status_);
  Tensor& row_loss = options_.reduction == Reduction::none ? loss : row_loss_;
  const uint32_t local = detail::default_local_size(c.device());
  const LabelsPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index};
  c.dispatch(detail::Kernel{"nll_loss_forward", {local}, 3, sizeof push},
             {{&log_probs, detail::Access::read}, {&labels, detail::Access::read}, {&row_loss, detail::Access::write}},
             &push, sizeof push, {detail::grid_stride_groups(c.context(), rows_, local), 1, 1}, name);
  if (options_.reduction != Reduction::none)
    record_row_reduce(cmd, rows_, options_.reduction, row_loss_, status_, loss);
}

void NllLoss::backward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& dlog_probs,
                       float dloss) {
  detail::require_not_moved_from(status_, "NllLoss");
  auto& c = cmd.impl();
  const std::string name = "nll backward";
  check_class_inputs(cmd, rows_, log_probs, labels, name, "log_probs");
  check_gradient(cmd, dlog_probs, log_probs, name, "dlog_probs", "log_probs");
  const uint32_t cols = static_cast<uint32_t>(log_probs.shape()[1]);
  record_label_check(cmd, rows_, labels, cols, options_.ignore_index, status_);
  struct {
    uint32_t rows, cols;
    int32_t ignore_index;
    float grad_scale;
  } push{static_cast<uint32_t>(rows_), cols, options_.ignore_index, dloss};
  const uint32_t local = detail::default_local_size(c.device());
  const uint32_t mean = options_.reduction == Reduction::mean ? 1u : 0u;
  c.dispatch(detail::Kernel{"nll_loss_backward", {local, mean}, 3, sizeof push},
             {{&labels, detail::Access::read}, {&status_, detail::Access::read}, {&dlog_probs, detail::Access::write}},
             &push, sizeof push, {detail::grid_stride_groups(c.context(), dlog_probs.numel(), local), 1, 1}, name);
}

void NllLoss::check_labels() const { check_label_status(status_, options_.ignore_index); }

void check_label_status(const Tensor& status, int32_t ignore_index) {
  detail::require_dtype(status, DType::i32, "check_label_status", "status");
  detail::require_numel(status, kStatusSize, "check_label_status", "status", "a loss object's label status");
  const auto s = status.to_vector<int32_t>();
  if (s[0] < 0) return;
  fail_argument("loss label check", "row " + std::to_string(s[0]) + " has label " + std::to_string(s[1]) +
                                        ", outside [0, " + std::to_string(s[3]) + ") and not ignore_index " +
                                        std::to_string(ignore_index) + "; its loss and gradient are NaN");
}

}  // namespace vkgrad
