#include "vkgrad/sparsity.hpp"

#include <algorithm>

#include "checks.hpp"
#include "cpu_kernels.hpp"
#include "command_impl.hpp"
#include "reduction_layout.hpp"

namespace vkgrad {

namespace {

struct PartialPush {
  uint32_t rows, features, rows_per_chunk;
  float eps;
};
struct TotalPush {
  uint32_t rows, features, row_chunks;
};

// Aim for about this many active threads in the first pass: features · row_chunks (the cpu kernel
// set aims for cpu::kSparsityTargetThreads).
constexpr uint64_t kTargetThreads = 16384;

}  // namespace

ActivationSparsity::ActivationSparsity(Context& context, uint64_t rows, uint64_t features)
    : rows_(rows), features_(features) {
  if (rows == 0 || features == 0 || rows * features > UINT32_MAX) {
    detail::fail_argument("ActivationSparsity", "needs rows, features >= 1 and rows·features < 2^32, got " +
                                                    std::to_string(rows) + " × " + std::to_string(features));
  }
  // Enough row chunks to keep the device busy when there are few features, one workgroup row each
  // (within the device's workgroup-count limit in y).
  const uint64_t target =
      context.kernels().set == KernelSet::cpu ? detail::cpu::kSparsityTargetThreads : kTargetThreads;
  const uint64_t most_chunks = std::min<uint64_t>(rows, detail::max_workgroups(context.impl().info, 1));
  const uint64_t chunks = std::clamp<uint64_t>((target + features - 1) / features, 1, most_chunks);
  const uint64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  row_chunks_ = static_cast<uint32_t>((rows + rows_per_chunk - 1) / rows_per_chunk);
  result_ = Tensor(context, Shape{2 + features}, DType::i32);
  partial_ = Tensor(context, Shape{uint64_t(row_chunks_) * features * 2}, DType::i32);
}

void ActivationSparsity::record(CommandList& cmd, const Tensor& y, float eps) {
  detail::require_not_moved_from(result_, "ActivationSparsity");
  auto& c = cmd.impl();
  const std::string op = "ActivationSparsity::record";
  detail::check_f32(c, y, op, "y");
  detail::require_numel(y, rows_ * features_, op, "y",
                        std::to_string(rows_) + " rows × " + std::to_string(features_) + " features");
  const uint32_t rows_per_chunk = static_cast<uint32_t>((rows_ + row_chunks_ - 1) / row_chunks_);
  const uint32_t local = detail::default_local_size(c.device());
  const PartialPush partial_push{static_cast<uint32_t>(rows_), static_cast<uint32_t>(features_), rows_per_chunk, eps};
  // The per-invocation layout (CPU devices): a thread per 4 features (vec4 loads) where the rows
  // are whole vec4s; y through a texel buffer where the context uses them.
  const bool quads = detail::per_invocation_reductions(c) && features_ % 4 == 0;
  const uint64_t threads = quads ? features_ / 4 : features_;
  // Fewer than one thread per feature (quad) where the device's limit requires: the shader loops.
  const uint32_t feature_groups = detail::capped_workgroups(c.device(), 0, (threads + local - 1) / local);
  const std::initializer_list<detail::BufferUse> partial_uses{{&y, detail::Access::read},
                                                              {&partial_, detail::Access::write}};
  const detail::Kernel partial_kernel{"sparsity_partial", {local, quads ? 1u : 0u}, 2, sizeof partial_push};
  c.dispatch(partial_kernel, partial_uses, &partial_push, sizeof partial_push, {feature_groups, row_chunks_, 1},
             "sparsity_partial");
  const TotalPush total_push{static_cast<uint32_t>(rows_), static_cast<uint32_t>(features_), row_chunks_};
  c.dispatch(detail::Kernel{"sparsity_total", {local}, 2, sizeof total_push},
             {{&partial_, detail::Access::read}, {&result_, detail::Access::write}}, &total_push, sizeof total_push,
             {1, 1, 1}, "sparsity_total");
}

SparsityStats ActivationSparsity::read() const {
  detail::require_not_moved_from(result_, "ActivationSparsity");
  const auto raw = result_.to_vector<int32_t>();
  SparsityStats s;
  s.rows = rows_;
  s.features = features_;
  s.zero_count = static_cast<uint32_t>(raw[0]);
  s.near_zero_count = static_cast<uint32_t>(raw[1]);
  const double total = double(rows_) * double(features_);
  s.zero_fraction = double(s.zero_count) / total;
  s.near_zero_fraction = double(s.near_zero_count) / total;
  s.dead.resize(features_);
  for (uint64_t c = 0; c < features_; ++c) {
    s.dead[c] = raw[2 + c] != 0 ? 1 : 0;
    s.dead_count += s.dead[c];
  }
  return s;
}

}  // namespace vkgrad
