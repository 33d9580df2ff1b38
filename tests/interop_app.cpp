#include "interop_app.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "harness.hpp"
#include "interop_fill.spv.h"

namespace vkgrad::test {

namespace {

struct FillPush {
  uint32_t offset, count;
  float scale, bias;
};

bool offered(const vk::raii::PhysicalDevice& pd, const char* name) {
  const auto all = pd.enumerateDeviceExtensionProperties();
  return std::any_of(all.begin(), all.end(), [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

}  // namespace

bool AppOptions::validation_requested() {
  const char* v = std::getenv("VKGRAD_VALIDATION");
  if (v == nullptr || *v == '\0') return false;
  const std::string s = v;
  return !(s == "0" || s == "false" || s == "off" || s == "no");
}

VKAPI_ATTR VkBool32 VKAPI_CALL App::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                                               const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* app = static_cast<App*>(user);
  std::lock_guard lock(app->messages_mutex_);
  app->messages_.emplace_back(data && data->pMessage ? data->pMessage : "(no text)");
  return VK_FALSE;
}

App::App(AppOptions options) {
  api_version = std::min<uint32_t>(loader.enumerateInstanceVersion(), VK_API_VERSION_1_3);
  std::vector<const char*> layers, instance_extensions;
  const vk::DebugUtilsMessengerCreateInfoEXT messenger_info(
      {}, vk::DebugUtilsMessageSeverityFlagBitsEXT::eWarning | vk::DebugUtilsMessageSeverityFlagBitsEXT::eError,
      vk::DebugUtilsMessageTypeFlagBitsEXT::eGeneral | vk::DebugUtilsMessageTypeFlagBitsEXT::eValidation, &on_message,
      this);
  const vk::ValidationFeatureEnableEXT enables[] = {vk::ValidationFeatureEnableEXT::eSynchronizationValidation};
  vk::ValidationFeaturesEXT features(enables, {});
  if (options.validation) {
    layers.push_back("VK_LAYER_KHRONOS_validation");
    instance_extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  const vk::ApplicationInfo app_info("vkgrad interop test", 1, nullptr, 0, api_version);
  vk::InstanceCreateInfo instance_info({}, &app_info, layers, instance_extensions);
  if (options.validation) instance_info.pNext = &features;
  instance = vk::raii::Instance(loader, instance_info);
  if (options.validation) messenger = instance.createDebugUtilsMessengerEXT(messenger_info);

  // The device vkgrad's own test context runs on, so that the two can be compared.
  vk::raii::PhysicalDevices devices(instance);
  physical = std::move(devices.at(context().device().index));
  const auto families = physical.getQueueFamilyProperties();
  while (family < families.size() && !(families[family].queueFlags & vk::QueueFlagBits::eCompute)) ++family;
  if (family == families.size()) throw std::runtime_error("the test device has no compute queue");

  if (offered(physical, "VK_KHR_portability_subset")) extensions.emplace_back("VK_KHR_portability_subset");
  if (options.optional_features && offered(physical, VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME)) {
    extensions.emplace_back(VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME);
  }
  std::vector<const char*> names;
  for (const auto& e : extensions) names.push_back(e.c_str());
  const uint32_t device_version = std::min(api_version, physical.getProperties().apiVersion);
  shader_int64 = options.optional_features && physical.getFeatures().shaderInt64;
  timeline_semaphores = false;
  vk::PhysicalDeviceFeatures2 features2;
  features2.features.shaderInt64 = shader_int64;
  vk::PhysicalDeviceVulkan12Features features12;
  if (device_version >= VK_API_VERSION_1_2) {
    const auto supported = physical.getFeatures2<vk::PhysicalDeviceFeatures2, vk::PhysicalDeviceVulkan12Features>();
    timeline_semaphores = supported.get<vk::PhysicalDeviceVulkan12Features>().timelineSemaphore;
    features12.timelineSemaphore = timeline_semaphores;
    features2.pNext = &features12;
  }
  const float priority = 1.0f;
  const vk::DeviceQueueCreateInfo queue_info({}, family, 1, &priority);
  vk::DeviceCreateInfo device_info({}, queue_info, {}, names, nullptr);
  device_info.pNext = &features2;
  device = vk::raii::Device(physical, device_info);
  queue = device.getQueue(family, 0);

  const vk::DescriptorSetLayoutBinding binding(0, vk::DescriptorType::eStorageBuffer, 1,
                                               vk::ShaderStageFlagBits::eCompute);
  set_layout_ = device.createDescriptorSetLayout(vk::DescriptorSetLayoutCreateInfo({}, binding));
  const vk::PushConstantRange push(vk::ShaderStageFlagBits::eCompute, 0, sizeof(FillPush));
  layout_ = device.createPipelineLayout(vk::PipelineLayoutCreateInfo({}, *set_layout_, push));
  shader_ = device.createShaderModule(vk::ShaderModuleCreateInfo({}, sizeof interop_fill_spirv, interop_fill_spirv));
  pipeline_ = device.createComputePipeline(
      nullptr,
      vk::ComputePipelineCreateInfo(
          {}, vk::PipelineShaderStageCreateInfo({}, vk::ShaderStageFlagBits::eCompute, *shader_, "main"), *layout_));
  const vk::DescriptorPoolSize pool_size(vk::DescriptorType::eStorageBuffer, 64);
  descriptor_pool_ = device.createDescriptorPool(
      vk::DescriptorPoolCreateInfo(vk::DescriptorPoolCreateFlagBits::eFreeDescriptorSet, 64, pool_size));
  command_pool_ = device.createCommandPool(vk::CommandPoolCreateInfo({}, family));
}

App::~App() { device.waitIdle(); }

App::Buffer App::make_buffer(uint64_t bytes, uint32_t usage) {
  Buffer b;
  b.bytes = bytes;
  b.usage = usage;
  b.buffer = device.createBuffer(vk::BufferCreateInfo({}, bytes, vk::BufferUsageFlags(usage)));
  const auto req = b.buffer.getMemoryRequirements();
  const auto props = physical.getMemoryProperties();
  const auto wanted = vk::MemoryPropertyFlagBits::eHostVisible | vk::MemoryPropertyFlagBits::eHostCoherent;
  uint32_t type = 0;
  while (type < props.memoryTypeCount &&
         !((req.memoryTypeBits & (1u << type)) && (props.memoryTypes[type].propertyFlags & wanted) == wanted)) {
    ++type;
  }
  if (type == props.memoryTypeCount) throw std::runtime_error("no host-visible memory for the application's buffer");
  b.memory = device.allocateMemory(vk::MemoryAllocateInfo(req.size, type));
  b.buffer.bindMemory(*b.memory, 0);
  b.data = static_cast<float*>(b.memory.mapMemory(0, VK_WHOLE_SIZE));
  return b;
}

ExternalDevice App::external() const {
  ExternalDevice e;
  e.instance = static_cast<VkInstance>(*instance);
  e.physical_device = static_cast<VkPhysicalDevice>(*physical);
  e.device = static_cast<VkDevice>(*device);
  e.queue_family = family;
  e.queue_index = 0;
  e.get_instance_proc_addr = loader.getDispatcher()->vkGetInstanceProcAddr;
  e.instance_api_version = api_version;
  e.enabled_extensions = extensions;
  e.shader_int64 = shader_int64;
  e.queue_access = [this](const std::function<void()>& use_queue) {
    std::lock_guard lock(queue_mutex_);
    ++queue_uses_;
    use_queue();
  };
  return e;
}

vk::raii::CommandBuffer App::begin_commands() {
  vk::raii::CommandBuffers buffers(device,
                                   vk::CommandBufferAllocateInfo(*command_pool_, vk::CommandBufferLevel::ePrimary, 1));
  vk::raii::CommandBuffer cb = std::move(buffers[0]);
  cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
  return cb;
}

void App::record_fill(vk::raii::CommandBuffer& cb, const Buffer& buffer, uint32_t offset, uint32_t count, float scale,
                      float bias) {
  vk::raii::DescriptorSets sets(device, vk::DescriptorSetAllocateInfo(*descriptor_pool_, *set_layout_));
  const vk::DescriptorBufferInfo info(*buffer.buffer, 0, buffer.bytes);
  device.updateDescriptorSets(vk::WriteDescriptorSet(*sets[0], 0, 0, vk::DescriptorType::eStorageBuffer, nullptr, info),
                              {});
  const FillPush push{offset, count, scale, bias};
  cb.bindPipeline(vk::PipelineBindPoint::eCompute, *pipeline_);
  cb.bindDescriptorSets(vk::PipelineBindPoint::eCompute, *layout_, 0, *sets[0], {});
  cb.pushConstants<FillPush>(*layout_, vk::ShaderStageFlagBits::eCompute, 0, push);
  cb.dispatch(std::min<uint32_t>((count + 63) / 64, 1024), 1, 1);
  sets_.push_back(std::move(sets[0]));
}

void App::record_host_barrier(vk::raii::CommandBuffer& cb) {
  const vk::MemoryBarrier barrier(vk::AccessFlagBits::eShaderWrite, vk::AccessFlagBits::eHostRead);
  cb.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader, vk::PipelineStageFlagBits::eHost, {}, barrier, {}, {});
}

void App::submit(vk::raii::CommandBuffer& cb, const std::vector<std::pair<vk::Semaphore, uint64_t>>& waits,
                 const std::vector<std::pair<vk::Semaphore, uint64_t>>& signals, vk::Fence fence) {
  cb.end();
  std::vector<vk::Semaphore> wait_semaphores, signal_semaphores;
  std::vector<uint64_t> wait_values, signal_values;
  std::vector<vk::PipelineStageFlags> stages;
  for (const auto& [s, v] : waits) {
    wait_semaphores.push_back(s);
    wait_values.push_back(v);
    stages.emplace_back(vk::PipelineStageFlagBits::eComputeShader);
  }
  for (const auto& [s, v] : signals) {
    signal_semaphores.push_back(s);
    signal_values.push_back(v);
  }
  const vk::CommandBuffer command_buffer = *cb;
  vk::SubmitInfo info(wait_semaphores, stages, command_buffer, signal_semaphores);
  const vk::TimelineSemaphoreSubmitInfo timeline(wait_values, signal_values);
  if (timeline_semaphores) info.pNext = &timeline;
  std::lock_guard lock(queue_mutex_);
  queue.submit(info, fence);
}

vk::raii::Semaphore App::make_semaphore(bool timeline) {
  const vk::SemaphoreTypeCreateInfo type(vk::SemaphoreType::eTimeline, 0);
  vk::SemaphoreCreateInfo info;
  if (timeline) info.pNext = &type;
  return device.createSemaphore(info);
}

void App::wait(vk::Fence fence) {
  if (device.waitForFences(fence, VK_TRUE, UINT64_MAX) != vk::Result::eSuccess) {
    throw std::runtime_error("waiting for the application's fence failed");
  }
}

std::vector<std::string> App::messages() const {
  std::lock_guard lock(messages_mutex_);
  return messages_;
}

}  // namespace vkgrad::test
