// The recorder behind CommandList: descriptor sets, barrier tracking, timestamps, and the one
// dispatch path every op goes through.
#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "context_impl.hpp"
#include "vkgrad/command.hpp"
#include "vulkan.hpp"

namespace vkgrad::detail {

enum class Access : uint8_t { read = 1, write = 2, read_write = 3 };

struct BufferUse {
  const Tensor* tensor;
  Access access;
};

/// Tracks, per buffer, whether it was written or read since the last barrier, and says when a new
/// access would race (read-after-write, write-after-read, write-after-write). One global memory
/// barrier then orders everything before it, so the tracker forgets all earlier accesses.
class BarrierTracker {
 public:
  struct Use {
    VkBuffer buffer;
    Access access;
  };
  /// The barrier needed before `uses`, or nullopt when none is.
  struct Barrier {
    vk::PipelineStageFlags src_stages, dst_stages;
    vk::AccessFlags src_access, dst_access;
  };
  std::optional<Barrier> before(std::span<const Use> uses);
  void record(std::span<const Use> uses, vk::PipelineStageFlags stage);
  void reset();

 private:
  std::unordered_map<VkBuffer, uint8_t> state_;  ///< bit 1: read, bit 2: written since the last barrier
  vk::PipelineStageFlags read_stages_, write_stages_;
};

struct CommandListImpl {
  CommandListImpl(std::shared_ptr<ContextImpl> context, CommandListOptions options);
  ~CommandListImpl();

  enum class State { recording, executable, pending };

  /// Records one compute dispatch of `kernel` (a shader as written: the build that runs is the one
  /// resolve_kernel picks for this context and these tensors) over `groups` workgroups with `uses`
  /// bound to bindings 0..n-1 in order. Checks the tensors belong to this context and the list is
  /// recording.
  void dispatch(const Kernel& kernel, std::initializer_list<BufferUse> uses, const void* push, uint32_t push_bytes,
                std::array<uint32_t, 3> groups, std::string_view label);
  /// Records a transfer command (fill, copy) touching `uses`. `record` is kept and may run more
  /// than once (into the list's own command buffer and into the application's, record_into), so it
  /// must capture what it records by value.
  void transfer(std::initializer_list<BufferUse> uses, std::string_view label,
                std::function<void(vk::raii::CommandBuffer&)> record);

  /// CommandList::host_step.
  void host_step(std::function<void()> step);
  void require_recording(std::string_view what) const;
  void check_tensor(const Tensor& t, std::string_view op, std::string_view role) const;
  void submit(const SubmitSync* sync = nullptr);
  /// CommandList::record_into.
  void record_into(VkCommandBuffer command_buffer);
  void wait();
  void reset();
  const ContextImpl& context() const { return *ctx; }
  const DeviceInfo& device() const { return ctx->info; }

  std::shared_ptr<ContextImpl> ctx;
  CommandListOptions options;
  vk::raii::CommandPool pool{nullptr};
  /// One command buffer per segment (the commands between host steps).
  vk::raii::CommandBuffers buffers{nullptr};
  vk::raii::Fence fence{nullptr};
  State state = State::recording;
  std::size_t dispatches = 0;
  std::size_t barriers = 0;

 private:
  void begin();
  void end();
  /// Appends a command; the list's own command buffer gets the commands when recording ends.
  void emit(std::function<void(vk::raii::CommandBuffer&)> command);
  void barrier_before(std::span<const BarrierTracker::Use> uses, vk::PipelineStageFlags stage);
  void retain(std::initializer_list<BufferUse> uses);
  vk::DescriptorSet allocate_set(const Pipeline& pipeline);
  void timestamp_begin(std::string_view label);
  void timestamp_end();
  void collect_timings();

  BarrierTracker tracker_;
  /// The recorded commands between the opening and closing barriers, in order.
  std::vector<std::function<void(vk::raii::CommandBuffer&)>> commands_;
  /// A host step runs after commands_[0, end) (and after the steps before it).
  struct HostStep {
    std::size_t end;
    std::function<void()> step;
  };
  std::vector<HostStep> host_steps_;
  std::vector<vk::raii::DescriptorPool> descriptor_pools_;
  uint32_t sets_left_ = 0;
  uint32_t descriptors_left_ = 0;
  std::vector<std::shared_ptr<Buffer>> retained_;
  std::vector<vk::raii::QueryPool> query_pools_;
  uint32_t queries_used_ = 0;  ///< in the last query pool
  std::vector<std::string> labels_;
  std::vector<DispatchTiming> timings_;
  bool timings_fresh_ = false;

 public:
  const std::vector<DispatchTiming>& timings();
  std::size_t host_step_count() const { return host_steps_.size(); }
};

/// A host-visible, mapped f32 tensor of `elements` values (MemoryUsage::staging), which copy() and
/// copy_range() can fill and read inside a list, and whose values host steps read and write through
/// host_values() between the list's segments.
Tensor host_tensor(Context& context, uint64_t elements);
/// The mapped values of a host_tensor() (numel() floats).
std::span<float> host_values(const Tensor& host);
/// Records: dst[dst_offset, dst_offset + count) = src[src_offset, src_offset + count) (element
/// offsets, same dtype; InvalidArgument when out of range, count 0, or dtypes differ; src and dst
/// may not share storage).
void copy_range(CommandList& cmd, const Tensor& src, uint64_t src_offset, Tensor& dst, uint64_t dst_offset,
                uint64_t count);

}  // namespace vkgrad::detail
