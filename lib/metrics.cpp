#include "vkgrad/metrics.hpp"

#include <bit>

#include "checks.hpp"
#include "command_impl.hpp"

namespace vkgrad {

namespace {

struct MetricsPush {
  uint32_t batch;
  uint32_t loss_is_sum;
};

struct ValueMetricsPush {
  uint32_t n, rows, loss_is_sum;
};

}  // namespace

void accumulate_metrics(CommandList& cmd, const Tensor& loss, const Tensor& predictions, const Tensor& labels,
                        Tensor& totals, bool loss_is_sum) {
  auto& c = cmd.impl();
  const std::string op = "accumulate_metrics";
  detail::check_f32(c, loss, op, "loss");
  c.check_tensor(predictions, op, "predictions");
  c.check_tensor(labels, op, "labels");
  detail::check_f32(c, totals, op, "totals");
  detail::require_dtype(predictions, DType::i32, op, "predictions");
  detail::require_dtype(labels, DType::i32, op, "labels");
  detail::require_same_count(predictions, "predictions", labels, "labels", op);
  detail::require_numel(loss, 1, op, "loss", "a mean loss");
  detail::require_numel(totals, 4, op, "totals");
  const MetricsPush push{static_cast<uint32_t>(predictions.numel()), loss_is_sum ? 1u : 0u};
  // The tree reduction halves the width each round: it needs a power-of-two workgroup.
  const uint32_t local = std::bit_floor(detail::default_local_size(c.device()));
  const detail::Kernel kernel{"metrics_accumulate", {local}, 4, sizeof push};
  c.dispatch(kernel,
             {{&loss, detail::Access::read},
              {&predictions, detail::Access::read},
              {&labels, detail::Access::read},
              {&totals, detail::Access::read_write}},
             &push, sizeof push, {1, 1, 1}, op);
}

void accumulate_value_metrics(CommandList& cmd, const Tensor& loss, const Tensor& output, const Tensor& target,
                              Tensor& totals, bool loss_is_sum) {
  auto& c = cmd.impl();
  const std::string op = "accumulate_value_metrics";
  detail::check_f32(c, loss, op, "loss");
  detail::check_f32(c, output, op, "output");
  detail::check_f32(c, target, op, "target");
  detail::check_f32(c, totals, op, "totals");
  detail::require_same_shape(output, "output", target, "target", op);
  detail::require_numel(loss, 1, op, "loss", "the batch's mean or sum");
  detail::require_numel(totals, 8, op, "totals");
  if (output.numel() > 0xffffffffull) detail::fail_argument(op, "more than 2^32 - 1 output elements");
  const ValueMetricsPush push{static_cast<uint32_t>(output.numel()), static_cast<uint32_t>(output.shape()[0]),
                              loss_is_sum ? 1u : 0u};
  // The tree reductions halve the width each round: they need a power-of-two workgroup.
  const uint32_t local = std::bit_floor(detail::default_local_size(c.device()));
  const detail::Kernel kernel{"value_metrics_accumulate", {local}, 4, sizeof push};
  c.dispatch(kernel,
             {{&loss, detail::Access::read},
              {&output, detail::Access::read},
              {&target, detail::Access::read},
              {&totals, detail::Access::read_write}},
             &push, sizeof push, {1, 1, 1}, op);
}

}  // namespace vkgrad
