/// \file
/// vkgrad's exception hierarchy. Every failure the library reports is one of these; the message says
/// what was wrong and what to do about it. The library never calls exit() or abort().
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vkgrad {

/// Base of every exception thrown by vkgrad.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller mistake: mismatched shapes or dtypes, tensors from another context, an out-of-range
/// argument, a command list used in the wrong state. Nothing was recorded or changed.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// The Vulkan environment cannot give vkgrad what it needs: no loader, no device, no validation
/// layer when validation was requested, a device without Vulkan 1.1 or without a compute queue.
class SetupError : public Error {
 public:
  using Error::Error;
};

/// The request is valid but exceeds what the selected device supports (a storage-buffer range, a
/// workgroup count, a missing feature such as timestamps).
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

/// Training or evaluation met a non-finite loss (NaN or ±inf), detected on the device by
/// nn::TrainerOptions::check_finite. The message names the epoch, the batch and where the first
/// non-finite value of that step was (the input batch, a module's output, or only the loss), and
/// what to do; the accessors give the same facts.
class NonFiniteError : public Error {
 public:
  /// module() of a NaN that was already in the input batch.
  static constexpr int64_t input_batch = -1;
  /// module() when every module output was finite and only the loss was not.
  static constexpr int64_t loss_only = -2;

  /// Builds the error; see the accessors for the arguments.
  NonFiniteError(const std::string& message, bool training, uint64_t epoch, uint64_t batch, int64_t module)
      : Error(message), training_(training), epoch_(epoch), batch_(batch), module_(module) {}
  /// True in Trainer::train_epoch, false in Trainer::evaluate.
  bool training() const noexcept { return training_; }
  /// The epoch being trained, 1-based (in evaluate: the epochs done so far).
  uint64_t epoch() const noexcept { return epoch_; }
  /// The batch within the epoch (or evaluation) whose loss was non-finite, 1-based.
  uint64_t batch() const noexcept { return batch_; }
  /// Index in the Sequential of the first module whose output held a non-finite value, or
  /// input_batch, or loss_only.
  int64_t module() const noexcept { return module_; }

 private:
  bool training_;
  uint64_t epoch_, batch_;
  int64_t module_;
};

/// A Vulkan call failed at run time. vk_result() is the raw VkResult.
class DeviceError : public Error {
 public:
  /// `message` is what() (it names the failed operation and what to do); `vk_result` the VkResult.
  DeviceError(const std::string& message, int vk_result) : Error(message), vk_result_(vk_result) {}
  /// The VkResult of the failed call, e.g. -2 (VK_ERROR_OUT_OF_DEVICE_MEMORY), -4
  /// (VK_ERROR_DEVICE_LOST).
  int vk_result() const noexcept { return vk_result_; }

 private:
  int vk_result_;
};

/// Device or host memory ran out. The context stays usable: free tensors and retry smaller.
class OutOfMemoryError : public DeviceError {
 public:
  /// As DeviceError's.
  using DeviceError::DeviceError;
};

/// The device was lost (driver reset, hang, removal). The context is unusable afterwards; every
/// later call on it throws this again. Create a new Context.
class DeviceLostError : public DeviceError {
 public:
  /// As DeviceError's; vk_result() is VK_ERROR_DEVICE_LOST.
  using DeviceError::DeviceError;
};

}  // namespace vkgrad
