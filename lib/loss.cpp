// Cross-entropy: the launchers for the shaders/cross_entropy_loss_*.comp kernels.
//   forward:  cross_entropy_loss_labels (status) -> cross_entropy_loss_forward (per-row losses)
//             -> cross_entropy_loss_reduce (mean / sum; one workgroup, fixed order)
//   backward: cross_entropy_loss_labels (status, holding the mean's divisor) -> cross_entropy_loss_backward
#include "vkgrad/loss.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "command_impl.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad {

namespace {

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

uint32_t row_local_size(const detail::CommandListImpl& c, uint64_t cols) {
  const uint32_t most = detail::default_local_size(c.device());
  const uint32_t want = std::bit_ceil(static_cast<uint32_t>(std::min<uint64_t>(cols, most)));
  return std::clamp<uint32_t>(want, std::min<uint32_t>(32, most), most);
}

}  // namespace

CrossEntropyLoss::CrossEntropyLoss(Context& context, uint64_t rows, CrossEntropyOptions options)
    : rows_(rows), options_(options) {
  if (rows == 0) throw InvalidArgument("vkgrad: CrossEntropyLoss: rows must be >= 1");
  if (!(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f)) {
    throw InvalidArgument("vkgrad: CrossEntropyLoss: label_smoothing must be in [0, 1), got " +
                          std::to_string(options.label_smoothing));
  }
  if (options.reduction != Reduction::none) row_loss_ = Tensor(context, {rows});
  status_ = Tensor(context, {kStatusSize}, DType::i32);
  const int32_t no_bad_label[kStatusSize] = {-1, 0, 0, 0};  // check_labels() before any run passes
  status_.upload(std::span<const int32_t>(no_bad_label));
}

void CrossEntropyLoss::check_inputs(CommandList& cmd, const Tensor& logits, const Tensor& labels,
                                    const char* op) const {
  auto& c = cmd.impl();
  const std::string name = op_name(op);
  c.check_tensor(logits, name, "logits");
  c.check_tensor(labels, name, "labels");
  if (logits.dtype() != DType::f32 || labels.dtype() != DType::i32) {
    throw InvalidArgument("vkgrad: " + name + ": logits must be f32 and labels i32, got logits " +
                          to_string(logits.dtype()) + " " + logits.shape().to_string() + " and labels " +
                          to_string(labels.dtype()) + " " + labels.shape().to_string());
  }
  if (logits.shape().rank() != 2 || logits.shape()[0] != rows_ || labels.numel() != rows_) {
    throw InvalidArgument("vkgrad: " + name + ": expected logits (" + std::to_string(rows_) + ", C) and labels (" +
                          std::to_string(rows_) + ") for this CrossEntropyLoss, got logits " +
                          logits.shape().to_string() + " and labels " + labels.shape().to_string());
  }
}

void CrossEntropyLoss::record_label_check(CommandList& cmd, const Tensor& labels, uint32_t cols) {
  auto& c = cmd.impl();
  const uint32_t local = detail::default_local_size(c.device());
  const LabelsPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index};
  c.dispatch(detail::Kernel{"cross_entropy_loss_labels", {local}, 2, sizeof push},
             {{&labels, detail::Access::read}, {&status_, detail::Access::write}}, &push, sizeof push, {1, 1, 1},
             "cross_entropy_loss_labels");
}

void CrossEntropyLoss::forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss) {
  check_inputs(cmd, logits, labels, "forward");
  auto& c = cmd.impl();
  const std::string name = op_name("forward");
  c.check_tensor(loss, name, "loss");
  const uint64_t want = options_.reduction == Reduction::none ? rows_ : 1;
  if (loss.dtype() != DType::f32 || loss.numel() != want) {
    throw InvalidArgument("vkgrad: " + name + ": loss must be f32 with " + std::to_string(want) +
                          " element(s) for this reduction, got " + to_string(loss.dtype()) + " " +
                          loss.shape().to_string());
  }
  const uint32_t cols = static_cast<uint32_t>(logits.shape()[1]);
  record_label_check(cmd, labels, cols);

  Tensor& row_loss = options_.reduction == Reduction::none ? loss : row_loss_;
  const uint32_t local = row_local_size(c, cols);
  const ForwardPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index, options_.label_smoothing};
  const uint32_t groups = detail::grid_stride_groups(c.device(), rows_ * local, local);
  c.dispatch(detail::Kernel{"cross_entropy_loss_forward", {local}, 3, sizeof push},
             {{&logits, detail::Access::read}, {&labels, detail::Access::read}, {&row_loss, detail::Access::write}},
             &push, sizeof push, {groups, 1, 1}, name);
  if (options_.reduction == Reduction::none) return;

  const uint32_t reduce_local = detail::default_local_size(c.device());
  const ReducePush reduce{static_cast<uint32_t>(rows_)};
  const uint32_t mean = options_.reduction == Reduction::mean ? 1u : 0u;
  c.dispatch(detail::Kernel{"cross_entropy_loss_reduce", {reduce_local, mean}, 3, sizeof reduce},
             {{&row_loss_, detail::Access::read}, {&status_, detail::Access::read}, {&loss, detail::Access::write}},
             &reduce, sizeof reduce, {1, 1, 1}, "cross_entropy_loss_reduce");
}

void CrossEntropyLoss::backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits,
                                float dloss) {
  check_inputs(cmd, logits, labels, "backward");
  auto& c = cmd.impl();
  const std::string name = op_name("backward");
  c.check_tensor(dlogits, name, "dlogits");
  if (dlogits.dtype() != DType::f32 || !(dlogits.shape() == logits.shape())) {
    throw InvalidArgument("vkgrad: " + name + ": dlogits must be f32 of the logits' shape " +
                          logits.shape().to_string() + ", got " + to_string(dlogits.dtype()) + " " +
                          dlogits.shape().to_string());
  }
  const uint32_t cols = static_cast<uint32_t>(logits.shape()[1]);
  record_label_check(cmd, labels, cols);
  const uint32_t local = row_local_size(c, cols);
  const BackwardPush push{static_cast<uint32_t>(rows_), cols, options_.ignore_index, options_.label_smoothing,
                          dloss};
  const uint32_t mean = options_.reduction == Reduction::mean ? 1u : 0u;
  const uint32_t groups = detail::grid_stride_groups(c.device(), rows_ * local, local);
  c.dispatch(detail::Kernel{"cross_entropy_loss_backward", {local, mean}, 4, sizeof push},
             {{&logits, detail::Access::read},
              {&labels, detail::Access::read},
              {&status_, detail::Access::read},
              {&dlogits, detail::Access::write}},
             &push, sizeof push, {groups, 1, 1}, name);
}

void CrossEntropyLoss::check_labels() const { check_label_status(status_, options_.ignore_index); }

void check_label_status(const Tensor& status, int32_t ignore_index) {
  if (status.dtype() != DType::i32 || status.numel() != kStatusSize) {
    throw InvalidArgument("vkgrad: check_label_status: expected an i32 status tensor of 4 elements, got " +
                          std::string(to_string(status.dtype())) + " " + status.shape().to_string());
  }
  const auto s = status.to_vector<int32_t>();
  if (s[0] < 0) return;
  throw InvalidArgument("vkgrad: cross_entropy: row " + std::to_string(s[0]) + " has label " + std::to_string(s[1]) +
                        ", outside [0, " + std::to_string(s[3]) + ") and not ignore_index " +
                        std::to_string(ignore_index) + "; its loss and gradient are NaN");
}

}  // namespace vkgrad
