// Data-parallel training in the core library, over nn::ReplicaGroup (see nn_replica.hpp): exact
// integer exchange, agreement checks, rank-0 work with a shared outcome, the start-up broadcast of
// a model's state and the gradient averaging recorded inside a training step.
#include "nn_replica.hpp"

#include <algorithm>
#include <cstring>

#include "command_impl.hpp"
#include "nn_mask.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad::nn {

namespace replica {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPieces = 4;  // 16-bit pieces of an int64

}  // namespace

std::vector<int64_t> gather(ReplicaGroup& group, std::span<const int64_t> values) {
  std::vector<float> pieces;
  pieces.reserve(values.size() * kPieces);
  for (int64_t v : values) {
    const auto u = static_cast<uint64_t>(v);
    for (int k = 0; k < kPieces; ++k) pieces.push_back(static_cast<float>((u >> (16 * k)) & 0xffffu));
  }
  const std::vector<float> all = group.allgather(pieces);
  std::vector<int64_t> out(all.size() / kPieces);
  for (std::size_t i = 0; i < out.size(); ++i) {
    uint64_t u = 0;
    for (int k = 0; k < kPieces; ++k) u |= static_cast<uint64_t>(all[i * kPieces + k]) << (16 * k);
    out[i] = static_cast<int64_t>(u);
  }
  return out;
}

int64_t hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return static_cast<int64_t>(h);
}

void agree(ReplicaGroup& group, std::span<const int64_t> values, const std::string& local_error, std::string_view where,
           std::string_view what) {
  std::vector<int64_t> mine{local_error.empty() ? 0 : 1};
  mine.insert(mine.end(), values.begin(), values.end());
  const std::vector<int64_t> all = gather(group, mine);
  const std::size_t n = mine.size();
  for (int r = 0; r < group.size(); ++r) {
    if (all[std::size_t(r) * n] == 0) continue;
    if (!local_error.empty()) throw InvalidArgument(local_error);
    throw InvalidArgument("vkgrad: " + std::string(where) + ": replica " + std::to_string(r) +
                          " refused its arguments (its own error says why); every replica stopped");
  }
  for (int r = 1; r < group.size(); ++r) {
    if (!std::equal(all.begin() + std::ptrdiff_t(r * n), all.begin() + std::ptrdiff_t((r + 1) * n), all.begin())) {
      throw InvalidArgument("vkgrad: " + std::string(where) + ": " + std::string(what) + " of replica " +
                            std::to_string(r) + " differ from replica 0's; every replica must make the same call");
    }
  }
}

uint64_t broadcast_u64(ReplicaGroup& group, uint64_t value, int root) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, sizeof bytes);
  group.broadcast(bytes, root);
  std::memcpy(&value, bytes, sizeof bytes);
  return value;
}

void run_on_root(ReplicaGroup& group, int root, const std::function<void()>& work) {
  // outcome: 0 done, 1 InvalidArgument, 2 another exception.
  uint64_t outcome = 0;
  std::string message;
  std::exception_ptr failure;
  if (group.rank() == root) {
    try {
      work();
    } catch (const InvalidArgument& e) {
      outcome = 1, message = e.what(), failure = std::current_exception();
    } catch (const std::exception& e) {
      outcome = 2, message = e.what(), failure = std::current_exception();
    }
  }
  outcome = broadcast_u64(group, outcome, root);
  if (outcome == 0) return;
  std::vector<uint8_t> text(broadcast_u64(group, message.size(), root));
  std::copy(message.begin(), message.end(), text.begin());
  if (!text.empty()) group.broadcast(text, root);
  if (failure) std::rethrow_exception(failure);
  const std::string shared(text.begin(), text.end());
  if (outcome == 1) throw InvalidArgument(shared);
  throw Error(shared);
}

std::vector<std::vector<Tensor*>> gradient_buckets(const std::vector<Parameter>& parameters, std::size_t bucket_bytes) {
  std::vector<std::vector<Tensor*>> buckets;
  std::size_t bytes_in_bucket = 0;
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const std::size_t bytes = it->grad->size_bytes();
    if (buckets.empty() || (bytes_in_bucket > 0 && bytes_in_bucket + bytes > bucket_bytes)) {
      buckets.emplace_back();
      bytes_in_bucket = 0;
    }
    buckets.back().push_back(it->grad);
    bytes_in_bucket += bytes;
  }
  return buckets;
}

GradientSync::GradientSync(Context& context, ReplicaGroup& group, Module& model, std::size_t bucket_bytes)
    : group_(&group) {
  if (bucket_bytes == 0) throw InvalidArgument("vkgrad: Trainer: the gradient bucket size must be > 0");
  const std::vector<Parameter> parameters = model.parameters();
  for (const Parameter& p : parameters) {
    if (p.grad == nullptr || p.grad->empty() || p.grad->dtype() != DType::f32) {
      throw InvalidArgument("vkgrad: Trainer: the gradient of " + p.name +
                            " is missing or not f32; data-parallel training averages f32 gradients only");
    }
  }
  for (const std::vector<Tensor*>& bucket : gradient_buckets(parameters, bucket_bytes)) {
    buckets_.emplace_back(elements_, 0);
    for (Tensor* g : bucket) {
      buckets_.back().second += g->numel();
      elements_ += g->numel();
      gradients_.push_back(g);
    }
  }
  if (elements_ > 0) {
    host_ = vkgrad::detail::host_tensor(context, elements_);
  }
}

void GradientSync::record(CommandList& cmd, bool has_rows, float weight) {
  if (gradients_.empty()) return;
  if (has_rows) {
    uint64_t offset = 0;
    for (Tensor* g : gradients_) {
      vkgrad::detail::copy_range(cmd, *g, 0, host_, offset, g->numel());
      offset += g->numel();
    }
  }
  cmd.host_step([this, has_rows, weight] {
    const auto t0 = Clock::now();
    const std::span<float> values = vkgrad::detail::host_values(host_);
    if (has_rows) {
      for (float& v : values) v *= weight;
    } else {
      std::fill(values.begin(), values.end(), 0.0f);
    }
    for (const auto& [first, count] : buckets_) group_->allreduce_sum(values.subspan(first, count));
    stats_->seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++stats_->reductions;
  });
  uint64_t offset = 0;
  for (Tensor* g : gradients_) {
    vkgrad::detail::copy_range(cmd, host_, offset, *g, 0, g->numel());
    offset += g->numel();
  }
}

}  // namespace replica

void broadcast_state(ReplicaGroup& group, Sequential& model, Optimizer* optimizer, int root) {
  using NamedTensors = std::vector<std::pair<std::string, HostTensor>>;
  std::string error;
  if (root < 0 || root >= group.size()) {
    error = "vkgrad: broadcast_state: root " + std::to_string(root) + " is not a replica (there are " +
            std::to_string(group.size()) + ")";
  }
  NamedTensors parameters = model.state_dict();
  NamedTensors training = model.training_state();
  NamedTensors optimizer_state;
  if (optimizer != nullptr) optimizer_state = optimizer->state_dict();
  // Every replica must hold the same tensors (names, dtypes, shapes) before any data moves.
  std::string description = optimizer != nullptr ? "optimizer;" : "";
  uint64_t bytes = 0;
  for (const NamedTensors* part : {&parameters, &training, &optimizer_state}) {
    for (const auto& [name, t] : *part) {
      description += name + ':' + t.dtype;
      for (uint64_t d : t.shape) description += ',' + std::to_string(d);
      description += ';';
      bytes += t.bytes.size();
    }
  }
  const int64_t summary[] = {static_cast<int64_t>(bytes), replica::hash(description)};
  replica::agree(group, summary, error, "broadcast_state",
                 "the models or optimizers (names, dtypes or shapes of their state)");
  // One message: every tensor's bytes, one after the other.
  std::vector<uint8_t> message;
  message.reserve(bytes);
  for (const NamedTensors* part : {&parameters, &training, &optimizer_state}) {
    for (const auto& entry : *part) message.insert(message.end(), entry.second.bytes.begin(), entry.second.bytes.end());
  }
  if (!message.empty()) group.broadcast(message, root);
  masks::broadcast(group, model, root);
  if (group.rank() == root) return;
  std::size_t offset = 0;
  for (NamedTensors* part : {&parameters, &training, &optimizer_state}) {
    for (auto& entry : *part) {
      std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(offset), entry.second.bytes.size(),
                  entry.second.bytes.begin());
      offset += entry.second.bytes.size();
    }
  }
  model.load_state_dict(parameters);
  model.load_training_state(training);
  if (optimizer != nullptr) optimizer->load_state_dict(optimizer_state);
}

}  // namespace vkgrad::nn
