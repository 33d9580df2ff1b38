#include "vkgrad/metrics.hpp"

#include <bit>

#include "checks.hpp"
#include "command_impl.hpp"

namespace vkgrad {

void accumulate_metrics(CommandList& cmd, const Tensor& loss, const Tensor& predictions, const Tensor& labels,
                        Tensor& totals) {
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
  const uint32_t batch = static_cast<uint32_t>(predictions.numel());
  // The tree reduction halves the width each round: it needs a power-of-two workgroup.
  const uint32_t local = std::bit_floor(detail::default_local_size(c.device()));
  const detail::Kernel kernel{"metrics_accumulate", {local}, 4, sizeof batch};
  c.dispatch(kernel,
             {{&loss, detail::Access::read},
              {&predictions, detail::Access::read},
              {&labels, detail::Access::read},
              {&totals, detail::Access::read_write}},
             &batch, sizeof batch, {1, 1, 1}, op);
}

}  // namespace vkgrad
