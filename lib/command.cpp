#include <cstring>

#include "command_impl.hpp"
#include "kernel_select.hpp"
#include "shader_registry.hpp"
#include "errors.hpp"

namespace vkgrad {
namespace detail {

namespace {
constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kDescriptorsPerPool = 256 * 8;
constexpr uint32_t kQueriesPerPool = 256;
constexpr uint8_t kRead = 1, kWritten = 2;

using Stage = vk::PipelineStageFlagBits;
using AccessBit = vk::AccessFlagBits;

vk::AccessFlags read_access(vk::PipelineStageFlags stages) {
  vk::AccessFlags a;
  if (stages & Stage::eComputeShader) a |= AccessBit::eShaderRead;
  if (stages & Stage::eTransfer) a |= AccessBit::eTransferRead;
  return a;
}
// The op that recorded a dispatch, from its timing label ("linear_forward relu" → "linear_forward"):
// the prefix of the errors the dispatch reports.
std::string_view op_of(std::string_view label) { return label.substr(0, label.find(' ')); }

vk::AccessFlags write_access(vk::PipelineStageFlags stages) {
  vk::AccessFlags a;
  if (stages & Stage::eComputeShader) a |= AccessBit::eShaderWrite;
  if (stages & Stage::eTransfer) a |= AccessBit::eTransferWrite;
  return a;
}
}  // namespace

std::optional<BarrierTracker::Barrier> BarrierTracker::before(std::span<const Use> uses) {
  bool hazard = false;
  for (const Use& u : uses) {
    auto it = state_.find(u.buffer);
    if (it == state_.end()) continue;
    const bool reads = uint8_t(u.access) & uint8_t(Access::read);
    const bool writes = uint8_t(u.access) & uint8_t(Access::write);
    if ((it->second & kWritten) && (reads || writes)) hazard = true;  // RAW, WAW
    if ((it->second & kRead) && writes) hazard = true;                // WAR
  }
  if (!hazard) return std::nullopt;
  // The tracker forgets every earlier access once the barrier is recorded, so the barrier must order
  // all of them before every later command, whatever its stage: its destination is both stages a
  // list records (compute and transfer), and every earlier write is made available and visible,
  // not only the one the new command touches.
  Barrier b;
  b.src_stages = read_stages_ | write_stages_;
  b.dst_stages = Stage::eComputeShader | Stage::eTransfer;
  b.src_access = write_access(write_stages_);
  if (b.src_access) b.dst_access = read_access(b.dst_stages) | write_access(b.dst_stages);
  return b;
}

void BarrierTracker::record(std::span<const Use> uses, vk::PipelineStageFlags stage) {
  for (const Use& u : uses) {
    uint8_t& s = state_[u.buffer];
    if (uint8_t(u.access) & uint8_t(Access::read)) {
      s |= kRead;
      read_stages_ |= stage;
    }
    if (uint8_t(u.access) & uint8_t(Access::write)) {
      s |= kWritten;
      write_stages_ |= stage;
    }
  }
}

void BarrierTracker::reset() {
  state_.clear();
  read_stages_ = {};
  write_stages_ = {};
}

CommandListImpl::CommandListImpl(std::shared_ptr<ContextImpl> context, CommandListOptions opts)
    : ctx(std::move(context)), options(opts) {
  ctx->check_usable();
  if (options.timestamps && !ctx->info.timestamps) {
    throw UnsupportedError("vkgrad: timestamps were requested but " + ctx->info.name +
                           "'s compute queue has no timestamp support; record without CommandListOptions::timestamps.");
  }
  pool = vk_call("creating a command pool", [&] {
    return ctx->device.createCommandPool(
        vk::CommandPoolCreateInfo(vk::CommandPoolCreateFlagBits::eResetCommandBuffer, ctx->queue_family));
  });
  buffers =
      vk::raii::CommandBuffers(ctx->device, vk::CommandBufferAllocateInfo(*pool, vk::CommandBufferLevel::ePrimary, 1));
  fence = ctx->device.createFence({});
  begin();
}

CommandListImpl::~CommandListImpl() {
  // The command buffer and the tensors it uses must outlive its execution, also after a device
  // loss or a failed wait (Vulkan guarantees this wait returns then too).
  if (state == State::pending) ctx->wait_unchecked(*fence);
}

namespace {
// Orders a list's commands after everything submitted or recorded before them (earlier lists,
// uploads, earlier replays of this very list, the application's compute and transfer work).
void opening_barrier(vk::raii::CommandBuffer& cb) {
  const vk::MemoryBarrier barrier(
      AccessBit::eShaderWrite | AccessBit::eTransferWrite,
      AccessBit::eShaderRead | AccessBit::eShaderWrite | AccessBit::eTransferRead | AccessBit::eTransferWrite);
  cb.pipelineBarrier(Stage::eComputeShader | Stage::eTransfer, Stage::eComputeShader | Stage::eTransfer, {}, barrier,
                     {}, {});
}
}  // namespace

void CommandListImpl::begin() { state = State::recording; }

void CommandListImpl::emit(std::function<void(vk::raii::CommandBuffer&)> command) {
  commands_.push_back(std::move(command));
}

void CommandListImpl::end() {
  const std::size_t segments = host_steps_.size() + 1;
  if (buffers.size() < segments) {
    buffers.clear();
    buffers = vk_call("allocating command buffers", [&] {
      return vk::raii::CommandBuffers(
          ctx->device, vk::CommandBufferAllocateInfo(*pool, vk::CommandBufferLevel::ePrimary, uint32_t(segments)));
    });
  }
  std::size_t first = 0;
  for (std::size_t s = 0; s < segments; ++s) {
    const std::size_t last = s < host_steps_.size() ? host_steps_[s].end : commands_.size();
    vk::raii::CommandBuffer& cb = buffers[s];
    cb.begin(vk::CommandBufferBeginInfo());
    opening_barrier(cb);
    for (std::size_t c = first; c < last; ++c) commands_[c](cb);
    // Make every write visible to the host (downloads and host steps read mapped memory after the
    // fence).
    const vk::MemoryBarrier barrier(AccessBit::eShaderWrite | AccessBit::eTransferWrite, AccessBit::eHostRead);
    cb.pipelineBarrier(Stage::eComputeShader | Stage::eTransfer, Stage::eHost, {}, barrier, {}, {});
    cb.end();
    first = last;
  }
  state = State::executable;
}

void CommandListImpl::host_step(std::function<void()> step) {
  require_recording("host_step");
  if (!step) throw InvalidArgument("vkgrad: host_step: the function is empty; pass a callable");
  host_steps_.push_back({commands_.size(), std::move(step)});
  // The step and the segment after it are ordered after everything recorded so far by the fence
  // wait and the next segment's opening barrier.
  tracker_.reset();
}

void CommandListImpl::record_into(VkCommandBuffer command_buffer) {
  ctx->check_usable();
  if (command_buffer == VK_NULL_HANDLE) {
    throw InvalidArgument("vkgrad: record_into: the command buffer is null; pass one of the application's, recording");
  }
  if (options.timestamps) {
    throw InvalidArgument(
        "vkgrad: record_into: the list was created with CommandListOptions::timestamps, whose queries only its own "
        "submissions read; record the list without timestamps");
  }
  if (!host_steps_.empty()) {
    throw InvalidArgument(
        "vkgrad: record_into: the list has host steps (CommandList::host_step), which only its own "
        "submit() can run; submit the list instead");
  }
  if (state == State::recording) end();
  // The application's command buffer, borrowed: released, never freed, however this ends.
  struct Borrowed {
    vk::raii::CommandBuffer cb;
    ~Borrowed() { (void)cb.release(); }
  } borrowed{vk::raii::CommandBuffer(ctx->device, command_buffer, VK_NULL_HANDLE)};
  opening_barrier(borrowed.cb);
  for (const auto& command : commands_) command(borrowed.cb);
  // vkgrad's writes, made available and visible to whatever the application records or submits
  // next, and to the host.
  const vk::MemoryBarrier barrier(AccessBit::eShaderWrite | AccessBit::eTransferWrite,
                                  AccessBit::eMemoryRead | AccessBit::eMemoryWrite | AccessBit::eHostRead);
  borrowed.cb.pipelineBarrier(Stage::eComputeShader | Stage::eTransfer, Stage::eAllCommands | Stage::eHost, {}, barrier,
                              {}, {});
}

void CommandListImpl::require_recording(std::string_view what) const {
  ctx->check_usable();
  if (state != State::recording) {
    throw InvalidArgument("vkgrad: cannot record " + std::string(what) +
                          ": the command list was already submitted (recording ends at the first submit). "
                          "Call reset() to record a new sequence, or use another CommandList.");
  }
}

void CommandListImpl::check_tensor(const Tensor& t, std::string_view op, std::string_view role) const {
  if (t.empty()) {
    throw InvalidArgument("vkgrad: " + std::string(op) + ": tensor '" + std::string(role) +
                          "' is empty (default-constructed or moved from)");
  }
  if (t.buffer().context.get() != ctx.get()) {
    throw InvalidArgument("vkgrad: " + std::string(op) + ": tensor '" + std::string(role) +
                          "' belongs to another Context than the command list; create it on the same Context");
  }
}

void CommandListImpl::barrier_before(std::span<const BarrierTracker::Use> uses, vk::PipelineStageFlags stage) {
  if (auto b = tracker_.before(uses)) {
    emit([b = *b](vk::raii::CommandBuffer& cb) {
      cb.pipelineBarrier(b.src_stages, b.dst_stages, {}, vk::MemoryBarrier(b.src_access, b.dst_access), {}, {});
    });
    ++barriers;
    tracker_.reset();
  }
  tracker_.record(uses, stage);
}

void CommandListImpl::retain(std::initializer_list<BufferUse> uses) {
  for (const auto& u : uses) retained_.push_back(u.tensor->shared_buffer());
}

vk::DescriptorSet CommandListImpl::allocate_set(const Pipeline& p) {
  if (sets_left_ == 0 || descriptors_left_ < p.bindings) {
    // Room for kDescriptorsPerPool of either kind (texel-load variants bind uniform texel buffers).
    const std::array<vk::DescriptorPoolSize, 2> sizes{
        vk::DescriptorPoolSize(vk::DescriptorType::eStorageBuffer, kDescriptorsPerPool),
        vk::DescriptorPoolSize(vk::DescriptorType::eUniformTexelBuffer, kDescriptorsPerPool)};
    const uint32_t kinds = ctx->kernels.texel_loads ? 2 : 1;
    descriptor_pools_.push_back(vk_call("creating a descriptor pool", [&] {
      return ctx->device.createDescriptorPool(vk::DescriptorPoolCreateInfo(
          {}, kSetsPerPool, vk::ArrayProxyNoTemporaries<const vk::DescriptorPoolSize>(kinds, sizes.data())));
    }));
    sets_left_ = kSetsPerPool;
    descriptors_left_ = kDescriptorsPerPool;
  }
  --sets_left_;
  descriptors_left_ -= p.bindings;
  VkDescriptorSet set;
  const VkDescriptorSetLayout layout = *p.set_layout;
  const VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, nullptr,
                                         *descriptor_pools_.back(), 1, &layout};
  const auto r = static_cast<vk::Result>(
      ctx->device.getDispatcher()->vkAllocateDescriptorSets(static_cast<VkDevice>(*ctx->device), &info, &set));
  if (r != vk::Result::eSuccess) throw_vulkan_error(r, "allocating a descriptor set");
  return set;
}

void CommandListImpl::timestamp_begin(std::string_view label) {
  if (!options.timestamps) return;
  if (query_pools_.empty() || queries_used_ + 2 > kQueriesPerPool) {
    query_pools_.push_back(
        ctx->device.createQueryPool(vk::QueryPoolCreateInfo({}, vk::QueryType::eTimestamp, kQueriesPerPool)));
    emit([pool = *query_pools_.back()](vk::raii::CommandBuffer& cb) { cb.resetQueryPool(pool, 0, kQueriesPerPool); });
    queries_used_ = 0;
  }
  emit([pool = *query_pools_.back(), query = queries_used_++](vk::raii::CommandBuffer& cb) {
    cb.writeTimestamp(Stage::eTopOfPipe, pool, query);
  });
  labels_.emplace_back(label);
}

void CommandListImpl::timestamp_end() {
  if (!options.timestamps) return;
  emit([pool = *query_pools_.back(), query = queries_used_++](vk::raii::CommandBuffer& cb) {
    cb.writeTimestamp(Stage::eBottomOfPipe, pool, query);
  });
}

void CommandListImpl::dispatch(const Kernel& requested, std::initializer_list<BufferUse> uses, const void* push,
                               uint32_t push_bytes, std::array<uint32_t, 3> groups, std::string_view label) {
  const std::string_view op = op_of(label);
  require_recording(op);
  const DeviceInfo& dev = ctx->info;
  for (int i = 0; i < 3; ++i) {
    if (groups[i] == 0 || groups[i] > dev.max_workgroup_count[i]) {
      throw UnsupportedError("vkgrad: " + std::string(op) + ": " + std::to_string(groups[i]) +
                             " workgroups in dimension " + std::to_string(i) + " exceeds " + dev.name + "'s limit of " +
                             std::to_string(dev.max_workgroup_count[i]));
    }
  }
  if (push_bytes != requested.push_constant_bytes || uses.size() != requested.bindings) {
    throw Error("vkgrad: internal error: " + std::string(label) + " dispatched with a mismatching layout");
  }
  // Every op checks its tensors first; this catches one that forgot (a foreign buffer in a
  // descriptor set would be undefined behaviour).
  for (const auto& u : uses) check_tensor(*u.tensor, op, "binding");
  const Kernel kernel = resolve_kernel(*ctx, requested, uses);
  check_descriptor_limits(dev, kernel, op);
  check_workgroup_limits(dev, kernel, op);
  const Pipeline& p = ctx->pipelines->get(kernel);
  const vk::DescriptorSet set = allocate_set(p);
  std::vector<vk::DescriptorBufferInfo> infos;
  std::vector<vk::BufferView> views;
  std::vector<BarrierTracker::Use> tracked;
  infos.reserve(uses.size());
  views.reserve(uses.size());
  for (const auto& u : uses) {
    Buffer& b = u.tensor->buffer();
    infos.emplace_back(b.handle(), b.offset, b.vk_size);
    const bool texel = (kernel.texel_bindings >> views.size()) & 1u;
    const bool raw = (kernel.raw_texel_bindings >> views.size()) & 1u;
    if (texel && (u.access != Access::read || !b.texel_readable(u.tensor->dtype(), raw))) {
      throw Error("vkgrad: internal error: " + std::string(label) +
                  " binds a tensor as a texel buffer that cannot be one");
    }
    views.push_back(texel ? b.texel_view(u.tensor->dtype(), raw) : vk::BufferView{});
    tracked.push_back({b.handle(), u.access});
  }
  std::vector<vk::WriteDescriptorSet> writes;
  for (uint32_t i = 0; i < infos.size(); ++i) {
    if (views[i]) {
      writes.emplace_back(set, i, 0, 1, vk::DescriptorType::eUniformTexelBuffer, nullptr, nullptr, &views[i]);
    } else {
      writes.emplace_back(set, i, 0, 1, vk::DescriptorType::eStorageBuffer, nullptr, &infos[i]);
    }
  }
  ctx->device.updateDescriptorSets(writes, {});

  barrier_before(tracked, Stage::eComputeShader);
  timestamp_begin(label);
  const auto* push_data = static_cast<const uint8_t*>(push);
  emit([pipeline = *p.pipeline, layout = *p.layout, set,
        push_constants = std::vector<uint8_t>(push_data, push_data + push_bytes), groups](vk::raii::CommandBuffer& cb) {
    cb.bindPipeline(vk::PipelineBindPoint::eCompute, pipeline);
    cb.bindDescriptorSets(vk::PipelineBindPoint::eCompute, layout, 0, set, {});
    if (!push_constants.empty()) {
      cb.pushConstants<uint8_t>(layout, vk::ShaderStageFlagBits::eCompute, 0, push_constants);
    }
    cb.dispatch(groups[0], groups[1], groups[2]);
  });
  timestamp_end();
  retain(uses);
  ++dispatches;
}

void CommandListImpl::transfer(std::initializer_list<BufferUse> uses, std::string_view label,
                               std::function<void(vk::raii::CommandBuffer&)> record) {
  require_recording(label);
  for (const auto& u : uses) check_tensor(*u.tensor, label, "binding");
  std::vector<BarrierTracker::Use> tracked;
  for (const auto& u : uses) tracked.push_back({u.tensor->buffer().handle(), u.access});
  barrier_before(tracked, Stage::eTransfer);
  timestamp_begin(label);
  emit(std::move(record));
  timestamp_end();
  retain(uses);
  ++dispatches;
}

void CommandListImpl::submit(const SubmitSync* sync) {
  ctx->check_usable();
  if (state == State::recording) end();
  if (state == State::pending) wait();
  timings_fresh_ = false;
  const std::size_t segments = host_steps_.size() + 1;
  for (std::size_t s = 0; s < segments; ++s) {
    // The application's semaphores: waited for by the first segment, signalled by the last.
    std::optional<SubmitSync> part;
    if (sync) {
      part.emplace();
      if (s == 0) part->wait = sync->wait;
      if (s + 1 == segments) {
        part->signal = sync->signal;
        part->fence = sync->fence;
      }
    }
    ctx->device.resetFences(*fence);
    ctx->submit(*buffers[s], *fence, part ? &*part : nullptr);
    state = State::pending;
    if (s + 1 == segments) break;
    wait();
    host_steps_[s].step();
  }
}

void CommandListImpl::wait() {
  ctx->check_usable();
  if (state != State::pending) return;
  ctx->wait(*fence);
  state = State::executable;
}

void CommandListImpl::reset() {
  wait();
  for (auto& b : buffers) b.reset();
  commands_.clear();
  host_steps_.clear();
  retained_.clear();
  descriptor_pools_.clear();
  sets_left_ = descriptors_left_ = 0;
  query_pools_.clear();
  queries_used_ = 0;
  labels_.clear();
  timings_.clear();
  tracker_.reset();
  dispatches = barriers = 0;
  begin();
}

const std::vector<DispatchTiming>& CommandListImpl::timings() {
  if (!options.timestamps) {
    throw InvalidArgument("vkgrad: timings() needs a CommandList created with CommandListOptions::timestamps");
  }
  if (state != State::executable) {
    throw InvalidArgument("vkgrad: timings() are available after a submission has completed (call wait() first)");
  }
  if (!timings_fresh_) collect_timings();
  return timings_;
}

void CommandListImpl::collect_timings() {
  timings_.clear();
  std::vector<uint64_t> ticks;
  for (std::size_t i = 0; i < query_pools_.size(); ++i) {
    const uint32_t count = i + 1 == query_pools_.size() ? queries_used_ : kQueriesPerPool;
    auto [r, values] =
        query_pools_[i].getResults<uint64_t>(0, count, count * sizeof(uint64_t), sizeof(uint64_t),
                                             vk::QueryResultFlagBits::e64 | vk::QueryResultFlagBits::eWait);
    if (r != vk::Result::eSuccess) throw_vulkan_error(r, "reading timestamps");
    ticks.insert(ticks.end(), values.begin(), values.end());
  }
  const double ns_per_tick = ctx->info.timestamp_period_ns;
  for (std::size_t d = 0; d < labels_.size(); ++d) {
    const uint64_t t0 = ticks[2 * d], t1 = ticks[2 * d + 1];
    timings_.push_back({labels_[d], t1 >= t0 ? double(t1 - t0) * ns_per_tick * 1e-6 : 0.0});
  }
  timings_fresh_ = true;
}

}  // namespace detail

CommandList::CommandList(Context& context, CommandListOptions options)
    : impl_(std::make_unique<detail::CommandListImpl>(context.shared_impl(), options)) {}
CommandList::~CommandList() = default;
CommandList::CommandList(CommandList&&) noexcept = default;
CommandList& CommandList::operator=(CommandList&&) noexcept = default;

detail::CommandListImpl& CommandList::impl() const {
  if (!impl_) detail::fail_moved_from("CommandList");
  return *impl_;
}

void CommandList::submit() { impl().submit(); }
void CommandList::submit(const SubmitSync& sync) { impl().submit(&sync); }
void CommandList::record_into(VkCommandBuffer_T* command_buffer) { impl().record_into(command_buffer); }
void CommandList::wait() { impl().wait(); }
void CommandList::run() {
  detail::CommandListImpl& c = impl();
  c.submit();
  c.wait();
}
bool CommandList::recording() const { return impl().state == detail::CommandListImpl::State::recording; }
bool CommandList::pending() const { return impl().state == detail::CommandListImpl::State::pending; }
void CommandList::reset() { impl().reset(); }
std::size_t CommandList::dispatch_count() const { return impl().dispatches; }
std::size_t CommandList::barrier_count() const { return impl().barriers; }
void CommandList::host_step(std::function<void()> step) { impl().host_step(std::move(step)); }
std::size_t CommandList::host_step_count() const { return impl().host_step_count(); }
std::vector<DispatchTiming> CommandList::timings() const { return impl().timings(); }

void CommandList::fill(Tensor& tensor, float value) {
  detail::CommandListImpl& c = impl();
  c.check_tensor(tensor, "fill", "tensor");
  const detail::Buffer& b = tensor.buffer();
  b.require_transfer(true, "fill");
  c.transfer({{&tensor, detail::Access::write}}, "fill",
             [buffer = b.handle(), offset = b.offset, size = b.fill_size(),
              pattern = detail::fill_pattern(tensor.dtype(), value)](vk::raii::CommandBuffer& cb) {
               cb.fillBuffer(buffer, offset, size, pattern);
             });
}

void CommandList::copy(const Tensor& src, Tensor& dst) {
  detail::CommandListImpl& c = impl();
  c.check_tensor(src, "copy", "src");
  c.check_tensor(dst, "copy", "dst");
  if (&src.buffer() == &dst.buffer()) throw InvalidArgument("vkgrad: copy: src and dst are the same tensor");
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
    throw InvalidArgument("vkgrad: copy: src " + src.shape().to_string() + " " + to_string(src.dtype()) + " and dst " +
                          dst.shape().to_string() + " " + to_string(dst.dtype()) + " differ in dtype or element count");
  }
  src.buffer().require_transfer(false, "copy");
  dst.buffer().require_transfer(true, "copy");
  const vk::BufferCopy region(src.buffer().offset, dst.buffer().offset, src.size_bytes());
  c.transfer({{&src, detail::Access::read}, {&dst, detail::Access::write}}, "copy",
             [s = src.buffer().handle(), d = dst.buffer().handle(), region](vk::raii::CommandBuffer& cb) {
               cb.copyBuffer(s, d, region);
             });
}

namespace detail {

Tensor host_tensor(Context& context, uint64_t elements) {
  if (elements == 0) throw InvalidArgument("vkgrad: host_tensor: needs at least one element");
  auto storage = std::make_shared<Buffer>(context.shared_impl(), elements * sizeof(float), MemoryUsage::staging);
  return Tensor::from_storage(std::move(storage), Shape{elements}, DType::f32);
}

std::span<float> host_values(const Tensor& host) {
  const Buffer& b = host.buffer();
  if (!b.allocation.mapped || host.dtype() != DType::f32) {
    throw InvalidArgument("vkgrad: host_values: the tensor is not a host_tensor()");
  }
  return {reinterpret_cast<float*>(b.allocation.mapped + b.offset), std::size_t(host.numel())};
}

void copy_range(CommandList& cmd, const Tensor& src, uint64_t src_offset, Tensor& dst, uint64_t dst_offset,
                uint64_t count) {
  CommandListImpl& c = cmd.impl();
  c.check_tensor(src, "copy_range", "src");
  c.check_tensor(dst, "copy_range", "dst");
  if (&src.buffer() == &dst.buffer()) throw InvalidArgument("vkgrad: copy_range: src and dst share storage");
  if (src.dtype() != dst.dtype() || count == 0 || src_offset > src.numel() || count > src.numel() - src_offset ||
      dst_offset > dst.numel() || count > dst.numel() - dst_offset) {
    throw InvalidArgument("vkgrad: copy_range: " + std::to_string(count) + " elements from " +
                          std::to_string(src_offset) + " of " + src.shape().to_string() + " " + to_string(src.dtype()) +
                          " to " + std::to_string(dst_offset) + " of " + dst.shape().to_string() + " " +
                          to_string(dst.dtype()) + ": out of range, empty, or of different dtypes");
  }
  src.buffer().require_transfer(false, "copy_range");
  dst.buffer().require_transfer(true, "copy_range");
  const uint64_t size = dtype_size(src.dtype());
  const vk::BufferCopy region(src.buffer().offset + src_offset * size, dst.buffer().offset + dst_offset * size,
                              count * size);
  c.transfer({{&src, Access::read}, {&dst, Access::write}}, "copy",
             [s = src.buffer().handle(), d = dst.buffer().handle(), region](vk::raii::CommandBuffer& cb) {
               cb.copyBuffer(s, d, region);
             });
}

}  // namespace detail

}  // namespace vkgrad
