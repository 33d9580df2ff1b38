/// \file
/// Command lists: ops are recorded into one, then it is submitted — and can be replayed any number of
/// times without re-recording. The recorder tracks every buffer's last writer and readers and inserts
/// a barrier only where a dispatch would otherwise race an earlier one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

struct VkCommandBuffer_T;

namespace vkgrad {

namespace detail {
struct CommandListImpl;
}
struct SubmitSync;

/// Options of a CommandList, fixed at its construction.
struct CommandListOptions {
  /// Record a GPU timestamp before and after every dispatch (see CommandList::timings()). Default:
  /// off. Throws UnsupportedError at construction if the device's compute queue has no timestamps
  /// (DeviceInfo::timestamps).
  bool timestamps = false;
  /// Sets `timestamps` and returns *this, for chaining.
  CommandListOptions& set_timestamps(bool on) {
    timestamps = on;
    return *this;
  }
};

/// GPU time of one recorded dispatch in the last completed submission.
struct DispatchTiming {
  /// The op that recorded it: "gemm", "linear_forward relu", "fill", "copy", ...
  std::string label;
  /// Time from the timestamp before the dispatch to the one after it, in milliseconds (0 if the
  /// device reported them out of order).
  double milliseconds = 0;
};

/// A recorded sequence of ops. Move-only: every use of a moved-from list other than destroying it or
/// assigning to it throws InvalidArgument. Ops (activation_forward, fill, copy, ...) append to it
/// while it is recording; the first submit() ends recording, later submit()s replay the same
/// commands. Tensors used by the list are kept alive by it until it is reset or destroyed.
///
/// Every tensor recorded into a list must belong to the list's Context (else InvalidArgument).
/// A CommandList must not be used from two threads at the same time; different lists may be
/// recorded and submitted concurrently.
class CommandList {
 public:
  /// An empty list on `context`'s device, recording. Throws UnsupportedError for timestamps on a
  /// device without them, DeviceLostError on a lost device.
  explicit CommandList(Context& context, CommandListOptions options = {});
  ~CommandList();  ///< waits for a pending submission
  /// Moves the recorded commands and any pending submission; the moved-from list may only be
  /// destroyed or assigned to (anything else throws InvalidArgument).
  CommandList(CommandList&&) noexcept;
  /// Destroys this list's own commands (waiting for its pending submission) and takes the other
  /// list's, as the move constructor.
  CommandList& operator=(CommandList&&) noexcept;
  CommandList(const CommandList&) = delete;
  CommandList& operator=(const CommandList&) = delete;

  /// Ends recording (first call) and submits to the compute queue; returns without waiting. If a
  /// previous submission of this list is still running it is waited for first.
  void submit();
  /// submit(), ordered with the application's work (include vkgrad/interop.hpp): the commands wait
  /// for sync.wait's semaphores, and sync.signal's semaphores and sync.fence are signalled when they
  /// have completed. wait() still works. Throws as submit().
  void submit(const SubmitSync& sync);
  /// Ends recording (first call) and records the list's commands into `command_buffer`, a primary
  /// command buffer of the application's, in the recording state, of a pool of the context's queue
  /// family, which the application submits itself (any number of times, to that queue family). The
  /// list keeps its descriptor sets and tensors until reset() or destruction, so it must outlive the
  /// command buffer's executions; the application waits for them itself (wait() does not see them).
  ///
  /// Barriers: the recorded commands begin with a barrier that makes compute-shader and transfer
  /// writes of earlier commands (the application's included) available and visible to vkgrad's
  /// compute-shader and transfer reads and writes; writes of any other stage (vertex, fragment,
  /// host after submission) the application must make available to VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
  /// | VK_PIPELINE_STAGE_TRANSFER_BIT itself. They end with a barrier from vkgrad's compute-shader and
  /// transfer writes to every later command (VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, memory read and
  /// write) and to the host, so that the application's later commands need none.
  /// Throws InvalidArgument for a null command buffer or a list with timestamps (its queries belong
  /// to its own submissions).
  void record_into(VkCommandBuffer_T* command_buffer);
  /// Waits for the last submission to finish; returns at once when none is pending. Throws
  /// DeviceLostError if the device was lost.
  void wait();
  /// submit() then wait().
  void run();

  /// True until the first submit() (and again after reset()): ops may be recorded. Recording an
  /// op into a list that is not recording throws InvalidArgument.
  bool recording() const;
  /// True from submit() until wait() (or run(), reset(), a later submit()) has seen it finish.
  bool pending() const;
  /// Discards the recorded commands (waiting for a pending submission) and starts recording again.
  void reset();

  /// Records: every element of `tensor` = value, converted to its dtype as Tensor::fill does (bit
  /// pattern kept for f32).
  void fill(Tensor& tensor, float value);
  /// Records: dst = src (same dtype and element count, else InvalidArgument; dst must not be src).
  void copy(const Tensor& src, Tensor& dst);

  /// Records a host step: each time the list runs, `step` is called on the host once every command
  /// recorded before it has completed (their writes to host-visible memory visible), and the
  /// commands recorded after it start only once it has returned. Data-parallel training uses it to
  /// reduce gradients and BatchNorm statistics across processes inside a replayed training step.
  /// A list with host steps runs in segments: submit() submits the first segment, waits for it,
  /// calls the first step, submits the next, and so on, and returns once the last segment is
  /// submitted (so it blocks until the last host step has returned). An exception thrown by `step`
  /// propagates out of submit(), the later segments not submitted; the list can be submitted again.
  /// `step` is kept and called at every replay, so what it uses must outlive the list's
  /// submissions. Throws InvalidArgument for an empty function or a list that is not recording;
  /// record_into() refuses a list with host steps (the application's command buffer cannot call
  /// back to the host).
  void host_step(std::function<void()> step);
  /// Host steps recorded since construction or reset().
  std::size_t host_step_count() const;
  /// Commands recorded since construction or reset(): dispatches plus fill() / copy() transfers.
  std::size_t dispatch_count() const;
  /// Pipeline barriers the recorder inserted between them: one before each command that would
  /// otherwise race an earlier one (read-after-write, write-after-read or write-after-write).
  std::size_t barrier_count() const;
  /// Per-dispatch GPU times of the last completed submission, in recording order. Throws
  /// InvalidArgument without options.timestamps, and while recording or pending (call wait()
  /// first).
  std::vector<DispatchTiming> timings() const;

  /// The implementation, for vkgrad's own ops (lib/); not part of the stable API. Every member and
  /// op reaches the list through it: InvalidArgument on a moved-from list.
  detail::CommandListImpl& impl() const;

 private:
  std::unique_ptr<detail::CommandListImpl> impl_;
};

}  // namespace vkgrad
