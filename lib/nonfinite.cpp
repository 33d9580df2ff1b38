// The launcher of shaders/nonfinite_check.comp (see nonfinite.hpp).
#include "nonfinite.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <initializer_list>

#include "checks.hpp"
#include "command_impl.hpp"

namespace vkgrad::detail {

namespace {

// Elements each invocation scans (at least): a pass over a tensor is a streaming read, so few
// workgroups of long loops beat one element per invocation on every device (and by far on
// lavapipe, where each workgroup has a fixed cost).
constexpr uint64_t kElementsPerInvocation = 16;

struct CheckPush {
  uint32_t n[kNonFiniteTensorsPerDispatch];
  uint32_t first_slot;
  uint32_t loss_binding;
};

}  // namespace

Tensor make_nonfinite_status(Context& context, std::size_t slots) {
  Tensor status(context, {kNonFiniteHeader + slots}, DType::i32);
  status.fill(0.0f);
  return status;
}

void record_nonfinite_check(CommandList& cmd, std::span<const Tensor* const> tensors, std::size_t loss_index,
                            const Tensor& cursor, Tensor& status) {
  auto& c = cmd.impl();
  const std::string op = "nonfinite_check";
  if (tensors.empty()) fail_argument(op, "no tensors to check");
  if (loss_index > tensors.size()) fail_argument(op, "loss_index is past the tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string role = "tensors[" + std::to_string(i) + "]";
    check_f32(c, *tensors[i], op, role);
    require_32bit_indexable(*tensors[i], op, role);
  }
  if (loss_index < tensors.size()) {
    require_numel(*tensors[loss_index], 1, op, "tensors[" + std::to_string(loss_index) + "]", "the loss");
  }
  c.check_tensor(cursor, op, "cursor");
  require_dtype(cursor, DType::i32, op, "cursor");
  require_numel(cursor, 1, op, "cursor");
  c.check_tensor(status, op, "status");
  require_dtype(status, DType::i32, op, "status");
  if (status.numel() < kNonFiniteHeader + tensors.size()) {
    fail_argument(op, "'status' must hold at least " + std::to_string(kNonFiniteHeader + tensors.size()) +
                          " elements, got " + status.shape().to_string());
  }
  const uint32_t local = default_local_size(c.device());
  for (std::size_t first = 0; first < tensors.size(); first += kNonFiniteTensorsPerDispatch) {
    const std::size_t count = std::min(kNonFiniteTensorsPerDispatch, tensors.size() - first);
    // Unused bindings repeat the first tensor, with 0 elements to scan.
    std::array<const Tensor*, kNonFiniteTensorsPerDispatch> t;
    CheckPush push{};
    uint64_t most = 1;
    for (std::size_t z = 0; z < kNonFiniteTensorsPerDispatch; ++z) {
      t[z] = z < count ? tensors[first + z] : tensors[first];
      push.n[z] = z < count ? static_cast<uint32_t>(t[z]->numel()) : 0u;
      most = std::max<uint64_t>(most, push.n[z]);
    }
    push.first_slot = static_cast<uint32_t>(first);
    push.loss_binding = loss_index >= first && loss_index < first + count ? static_cast<uint32_t>(loss_index - first)
                                                                          : uint32_t(kNonFiniteTensorsPerDispatch);
    const uint32_t groups =
        grid_stride_groups(c.context(), (most + kElementsPerInvocation - 1) / kElementsPerInvocation, local);
    const std::initializer_list<BufferUse> uses{
        {t[0], Access::read}, {t[1], Access::read}, {t[2], Access::read},          {t[3], Access::read},
        {t[4], Access::read}, {t[5], Access::read}, {&status, Access::read_write}, {&cursor, Access::read}};
    // The tensors through texel buffers where the context reads that way (CPU devices: 4 values a
    // fetch instead of a per-lane loop of scalar storage loads).
    const Kernel kernel{"nonfinite_check", {local}, 8, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push, {groups, 1, static_cast<uint32_t>(count)}, op);
  }
}

int64_t NonFiniteStatus::first_slot() const {
  if (step == 0) return -1;
  for (std::size_t s = 0; s < stamps.size(); ++s) {
    if (stamps[s] == step) return static_cast<int64_t>(s);
  }
  return -1;
}

NonFiniteStatus read_nonfinite_status(const Tensor& status) {
  const auto v = status.to_vector<int32_t>();
  NonFiniteStatus s;
  s.step = v.at(0);
  s.loss = std::bit_cast<float>(v.at(1));
  s.stamps.assign(v.begin() + kNonFiniteHeader, v.end());
  return s;
}

}  // namespace vkgrad::detail
