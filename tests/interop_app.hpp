// A stand-in for an application that runs Vulkan itself (tests/interop_test.cpp): it creates its
// own instance, device, queue and buffers with the Vulkan loader, as an application would, runs a
// compute shader of its own (tests/interop/fill.comp) and hands vkgrad the handles.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "context_impl.hpp"
#include "vkgrad/interop.hpp"
#include "vulkan.hpp"

namespace vkgrad::test {

/// What the application enables when it creates its instance and device.
struct AppOptions {
  /// VK_LAYER_KHRONOS_validation with synchronization validation, and VK_EXT_debug_utils. Default:
  /// as VKGRAD_VALIDATION asks of vkgrad's own contexts.
  bool validation = validation_requested();
  /// shaderInt64 and VK_KHR_shader_float_controls, where the device has them.
  bool optional_features = true;

  static bool validation_requested();
};

/// The application: its Vulkan objects, its buffers in host-visible memory, its fill shader.
class App {
 public:
  explicit App(AppOptions options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// A buffer of the application's, mapped.
  struct Buffer {
    vk::raii::Buffer buffer{nullptr};
    vk::raii::DeviceMemory memory{nullptr};
    float* data = nullptr;  ///< the mapped memory, as floats
    uint64_t bytes = 0;
    uint32_t usage = 0;
    /// The range [offset, offset + size) for Tensor::wrap.
    VulkanBuffer range(uint64_t offset, uint64_t size) const { return {vk_handle(*buffer), offset, size, usage}; }
  };
  Buffer make_buffer(uint64_t bytes, uint32_t usage);

  /// The handles for Context(const ExternalDevice&); queue_access takes the application's queue lock.
  ExternalDevice external() const;

  /// A primary command buffer, recording (one-time submit).
  vk::raii::CommandBuffer begin_commands();
  /// Records the fill shader: data[offset + i] = fill_value(i, scale, bias) for i < count.
  void record_fill(vk::raii::CommandBuffer& cb, const Buffer& buffer, uint32_t offset, uint32_t count, float scale,
                   float bias);
  /// What the fill shader writes at element i (exact in f32).
  static float fill_value(uint32_t i, float scale, float bias) { return float(i % 17) * scale + bias; }
  /// Records a barrier making compute-shader writes visible to the host.
  static void record_host_barrier(vk::raii::CommandBuffer& cb);
  /// Ends `cb` and submits it under the queue lock, waiting at the compute stage for `waits` and
  /// signalling `signals` (semaphore, timeline value or 0) and `fence`.
  void submit(vk::raii::CommandBuffer& cb, const std::vector<std::pair<vk::Semaphore, uint64_t>>& waits,
              const std::vector<std::pair<vk::Semaphore, uint64_t>>& signals, vk::Fence fence);
  vk::raii::Semaphore make_semaphore(bool timeline);
  void wait(vk::Fence fence);

  /// Validation messages the application's own messenger received.
  std::vector<std::string> messages() const;
  /// How often vkgrad went through ExternalDevice::queue_access.
  uint64_t queue_uses() const { return queue_uses_; }

  /// The Vulkan loader, opened as vkgrad opens it (Vulkan-Hpp's own loader is not compiled in).
  vk::raii::Context loader{detail::open_loader()};
  vk::raii::Instance instance{nullptr};
  vk::raii::DebugUtilsMessengerEXT messenger{nullptr};
  vk::raii::PhysicalDevice physical{nullptr};
  vk::raii::Device device{nullptr};
  vk::raii::Queue queue{nullptr};
  uint32_t family = 0;
  uint32_t api_version = 0;
  bool timeline_semaphores = false;
  bool shader_int64 = false;
  std::vector<std::string> extensions;

 private:
  mutable std::mutex messages_mutex_;
  std::vector<std::string> messages_;
  mutable std::mutex queue_mutex_;
  mutable std::atomic<uint64_t> queue_uses_{0};
  vk::raii::ShaderModule shader_{nullptr};
  vk::raii::DescriptorSetLayout set_layout_{nullptr};
  vk::raii::PipelineLayout layout_{nullptr};
  vk::raii::Pipeline pipeline_{nullptr};
  vk::raii::DescriptorPool descriptor_pool_{nullptr};
  std::vector<vk::raii::DescriptorSet> sets_;
  vk::raii::CommandPool command_pool_{nullptr};

  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user);
};

}  // namespace vkgrad::test
