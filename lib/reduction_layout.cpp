#include "reduction_layout.hpp"

#include "cpu_kernels.hpp"

#include <algorithm>
#include <bit>

namespace vkgrad::detail {

namespace {

// Threads per row of a workgroup-per-row shader: enough to cover a short row once (at least 32), at
// most the device default. A 7-column row does not need 256 threads waiting at every barrier.
uint32_t row_local_size(const DeviceInfo& dev, uint64_t cols) {
  const uint32_t most = default_local_size(dev);
  const uint32_t want = std::bit_ceil(static_cast<uint32_t>(std::clamp<uint64_t>(cols, 1, most)));
  return std::clamp<uint32_t>(want, std::min<uint32_t>(32, most), most);
}
}  // namespace

bool per_invocation_reductions(const CommandListImpl& c) {
  return c.context().kernels.row_reductions == RowReductions::per_invocation;
}

void dispatch_rows(CommandListImpl& c, const RowKernels& k, uint64_t rows, uint64_t cols,
                   std::initializer_list<BufferUse> uses, const void* push, std::string_view label) {
  const auto bindings = static_cast<uint32_t>(uses.size());
  const bool per_row = per_invocation_reductions(c);
  const uint32_t local =
      per_row ? std::min(cpu::kRowsPerWorkgroup, default_local_size(c.device())) : row_local_size(c.device(), cols);
  Kernel kernel{per_row ? k.per_row : k.workgroup, {local}, bindings, k.push_constant_bytes};
  kernel.specialization.insert(kernel.specialization.end(), k.spec.begin(), k.spec.end());
  const uint64_t invocations = per_row ? rows : rows * local;
  c.dispatch(kernel, uses, push, k.push_constant_bytes, {grid_stride_groups(c.context(), invocations, local), 1, 1},
             label);
}

}  // namespace vkgrad::detail
