/// \file
/// vkgrad's exception hierarchy. Every failure the library reports is one of these; the message says
/// what was wrong and what to do about it. The library never calls exit() or abort().
#pragma once

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
