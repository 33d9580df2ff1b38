/// \file
/// Command lists: ops are recorded into one, then it is submitted — and can be replayed any number of
/// times without re-recording. The recorder tracks every buffer's last writer and readers and inserts
/// a barrier only where a dispatch would otherwise race an earlier one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vkgrad/context.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

namespace detail {
struct CommandListImpl;
}

struct CommandListOptions {
  /// Record a GPU timestamp before and after every dispatch (see CommandList::timings()).
  /// Throws UnsupportedError at construction if the device's compute queue has no timestamps.
  bool timestamps = false;
  CommandListOptions& set_timestamps(bool on) { timestamps = on; return *this; }
};

/// GPU time of one recorded dispatch in the last completed submission.
struct DispatchTiming {
  std::string label;
  double milliseconds = 0;
};

/// A recorded sequence of ops. Move-only. Ops (activation_forward, fill, copy, ...) append to it
/// while it is recording; the first submit() ends recording, later submit()s replay the same
/// commands. Tensors used by the list are kept alive by it until it is reset or destroyed.
class CommandList {
 public:
  explicit CommandList(Context& context, CommandListOptions options = {});
  ~CommandList();  ///< waits for a pending submission
  CommandList(CommandList&&) noexcept;
  CommandList& operator=(CommandList&&) noexcept;
  CommandList(const CommandList&) = delete;
  CommandList& operator=(const CommandList&) = delete;

  /// Ends recording (first call) and submits to the compute queue; returns without waiting. If a
  /// previous submission of this list is still running it is waited for first.
  void submit();
  /// Waits for the last submission to finish. Throws DeviceLostError if the device was lost.
  void wait();
  /// submit() then wait().
  void run();

  bool recording() const;
  bool pending() const;
  /// Discards the recorded commands (waiting for a pending submission) and starts recording again.
  void reset();

  /// Records: every element of `tensor` = value (bit pattern kept for f32).
  void fill(Tensor& tensor, float value);
  /// Records: dst = src (same dtype and element count).
  void copy(const Tensor& src, Tensor& dst);

  std::size_t dispatch_count() const;
  std::size_t barrier_count() const;
  /// Per-dispatch GPU times of the last completed submission (needs options.timestamps).
  std::vector<DispatchTiming> timings() const;

  detail::CommandListImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<detail::CommandListImpl> impl_;
};

}  // namespace vkgrad
