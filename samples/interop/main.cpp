// vkgrad inside an application that runs Vulkan itself. The application creates its own instance,
// device, queue and buffers, makes a procedural dataset with a compute shader of its own
// (dataset.comp: points in [-1, 1]², labelled by a circle), then hands vkgrad its device and
// buffers: vkgrad trains an MLP directly on the application's buffers and writes its predictions into
// a buffer the application owns, which the application reads. The data never passes through the
// host on its way to vkgrad.
//
// With VKGRAD_VALIDATION=1 the application enables the Khronos validation layer (with
// synchronization validation) on its instance, and vkgrad reports its messages. Exit status 0 when
// the model classifies at least 90% of the points correctly.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#define VULKAN_HPP_NO_SPACESHIP_OPERATOR
#include <vulkan/vulkan_raii.hpp>
#include <vkgrad/vkgrad.hpp>

#include "dataset.spv.h"

namespace {

constexpr uint32_t kPoints = 4096;

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

bool offered(const vk::raii::PhysicalDevice& pd, const char* name) {
  const auto all = pd.enumerateDeviceExtensionProperties();
  return std::any_of(all.begin(), all.end(), [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

// A buffer of the application's in memory with `wanted` properties (falling back to any type).
struct AppBuffer {
  vk::raii::Buffer buffer{nullptr};
  vk::raii::DeviceMemory memory{nullptr};
  void* mapped = nullptr;  // when host-visible
};

AppBuffer make_buffer(const vk::raii::Device& device, const vk::raii::PhysicalDevice& physical, vk::DeviceSize bytes,
                      vk::BufferUsageFlags usage, vk::MemoryPropertyFlags wanted) {
  AppBuffer b;
  b.buffer = device.createBuffer(vk::BufferCreateInfo({}, bytes, usage));
  const auto req = b.buffer.getMemoryRequirements();
  const auto props = physical.getMemoryProperties();
  uint32_t type = props.memoryTypeCount;
  for (const auto flags : {wanted, vk::MemoryPropertyFlags{}}) {
    for (uint32_t i = 0; i < props.memoryTypeCount && type == props.memoryTypeCount; ++i) {
      if ((req.memoryTypeBits & (1u << i)) && (props.memoryTypes[i].propertyFlags & flags) == flags) type = i;
    }
  }
  b.memory = device.allocateMemory(vk::MemoryAllocateInfo(req.size, type));
  b.buffer.bindMemory(*b.memory, 0);
  if (props.memoryTypes[type].propertyFlags & vk::MemoryPropertyFlagBits::eHostVisible) {
    b.mapped = b.memory.mapMemory(0, VK_WHOLE_SIZE);
  }
  return b;
}

}  // namespace

int main() try {
  // --- The application's Vulkan objects -------------------------------------------------------
  vk::raii::Context loader;
  const uint32_t api_version = std::min<uint32_t>(loader.enumerateInstanceVersion(), VK_API_VERSION_1_3);
  const bool validate = env_flag("VKGRAD_VALIDATION");
  std::vector<const char*> layers, instance_extensions;
  if (validate) {
    layers.push_back("VK_LAYER_KHRONOS_validation");
    instance_extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  const vk::ValidationFeatureEnableEXT sync_validation[] = {vk::ValidationFeatureEnableEXT::eSynchronizationValidation};
  const vk::ValidationFeaturesEXT validation_features(sync_validation, {});
  const vk::ApplicationInfo app_info("vkgrad-interop", 1, nullptr, 0, api_version);
  vk::InstanceCreateInfo instance_info({}, &app_info, layers, instance_extensions);
  if (validate) instance_info.pNext = &validation_features;
  vk::raii::Instance instance(loader, instance_info);

  // Whatever GPU there is: a discrete one, else an integrated one, else the first with compute.
  vk::raii::PhysicalDevices devices(instance);
  const auto rank = [](const vk::raii::PhysicalDevice& pd) {
    const auto type = pd.getProperties().deviceType;
    return type == vk::PhysicalDeviceType::eDiscreteGpu ? 2 : type == vk::PhysicalDeviceType::eIntegratedGpu ? 1 : 0;
  };
  const auto best =
      std::max_element(devices.begin(), devices.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  if (best == devices.end()) throw std::runtime_error("no Vulkan device");
  const vk::raii::PhysicalDevice& physical = *best;
  const auto families = physical.getQueueFamilyProperties();
  uint32_t family = 0;
  while (family < families.size() && !(families[family].queueFlags & vk::QueueFlagBits::eCompute)) ++family;
  if (family == families.size()) throw std::runtime_error("the device has no compute queue");
  std::printf("application device: %s\n", physical.getProperties().deviceName.data());

  // What vkgrad uses where it is there: shaderInt64, float controls (and portability, required).
  std::vector<std::string> extensions;
  for (const char* e : {"VK_KHR_portability_subset", VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME}) {
    if (offered(physical, e)) extensions.emplace_back(e);
  }
  std::vector<const char*> extension_names;
  for (const auto& e : extensions) extension_names.push_back(e.c_str());
  vk::PhysicalDeviceFeatures features;
  features.shaderInt64 = physical.getFeatures().shaderInt64;
  const float priority = 1.0f;
  const vk::DeviceQueueCreateInfo queue_info({}, family, 1, &priority);
  vk::raii::Device device(physical, vk::DeviceCreateInfo({}, queue_info, {}, extension_names, &features));
  vk::raii::Queue queue = device.getQueue(family, 0);

  // Its buffers: the features in device-local memory (the host never touches them), the labels
  // and the predictions host-visible, so that the application can score the predictions.
  using U = vk::BufferUsageFlagBits;
  const vk::BufferUsageFlags usage = U::eStorageBuffer | U::eTransferSrc | U::eTransferDst;
  AppBuffer features_buffer =
      make_buffer(device, physical, kPoints * 2 * 4, usage, vk::MemoryPropertyFlagBits::eDeviceLocal);
  const auto host_visible = vk::MemoryPropertyFlagBits::eHostVisible | vk::MemoryPropertyFlagBits::eHostCoherent;
  AppBuffer labels_buffer = make_buffer(device, physical, kPoints * 4, usage, host_visible);
  AppBuffer predictions_buffer = make_buffer(device, physical, kPoints * 4, usage, host_visible);
  if (!labels_buffer.mapped || !predictions_buffer.mapped) throw std::runtime_error("no host-visible memory");

  // --- The application's own compute work: the dataset ----------------------------------------
  {
    const std::array<vk::DescriptorSetLayoutBinding, 2> bindings{
        vk::DescriptorSetLayoutBinding(0, vk::DescriptorType::eStorageBuffer, 1, vk::ShaderStageFlagBits::eCompute),
        vk::DescriptorSetLayoutBinding(1, vk::DescriptorType::eStorageBuffer, 1, vk::ShaderStageFlagBits::eCompute)};
    vk::raii::DescriptorSetLayout set_layout(device, vk::DescriptorSetLayoutCreateInfo({}, bindings));
    const vk::PushConstantRange push_range(vk::ShaderStageFlagBits::eCompute, 0, 8);
    vk::raii::PipelineLayout layout(device, vk::PipelineLayoutCreateInfo({}, *set_layout, push_range));
    vk::raii::ShaderModule shader(device, vk::ShaderModuleCreateInfo({}, sizeof dataset_spirv, dataset_spirv));
    vk::raii::Pipeline pipeline(
        device, nullptr,
        vk::ComputePipelineCreateInfo(
            {}, vk::PipelineShaderStageCreateInfo({}, vk::ShaderStageFlagBits::eCompute, *shader, "main"), *layout));
    const vk::DescriptorPoolSize pool_size(vk::DescriptorType::eStorageBuffer, 2);
    vk::raii::DescriptorPool pool(
        device, vk::DescriptorPoolCreateInfo(vk::DescriptorPoolCreateFlagBits::eFreeDescriptorSet, 1, pool_size));
    vk::raii::DescriptorSets sets(device, vk::DescriptorSetAllocateInfo(*pool, *set_layout));
    const vk::DescriptorBufferInfo features_info(*features_buffer.buffer, 0, kPoints * 2 * 4);
    const vk::DescriptorBufferInfo labels_info(*labels_buffer.buffer, 0, kPoints * 4);
    device.updateDescriptorSets(
        {vk::WriteDescriptorSet(*sets[0], 0, 0, vk::DescriptorType::eStorageBuffer, nullptr, features_info),
         vk::WriteDescriptorSet(*sets[0], 1, 0, vk::DescriptorType::eStorageBuffer, nullptr, labels_info)},
        {});
    vk::raii::CommandPool command_pool(device, vk::CommandPoolCreateInfo({}, family));
    vk::raii::CommandBuffers cbs(device,
                                 vk::CommandBufferAllocateInfo(*command_pool, vk::CommandBufferLevel::ePrimary, 1));
    vk::raii::CommandBuffer& cb = cbs[0];
    cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    cb.bindPipeline(vk::PipelineBindPoint::eCompute, *pipeline);
    cb.bindDescriptorSets(vk::PipelineBindPoint::eCompute, *layout, 0, *sets[0], {});
    const uint32_t push[2] = {kPoints, 12345};
    cb.pushConstants<uint32_t>(*layout, vk::ShaderStageFlagBits::eCompute, 0, push);
    cb.dispatch((kPoints + 63) / 64, 1, 1);
    cb.end();
    vk::raii::Fence done(device, vk::FenceCreateInfo());
    const vk::CommandBuffer command_buffer = *cb;
    queue.submit(vk::SubmitInfo({}, {}, command_buffer), *done);
    // vkgrad's command lists begin with a barrier over earlier compute-shader writes on this queue,
    // so once the dataset is submitted before them it is theirs to read.
    if (device.waitForFences(*done, VK_TRUE, UINT64_MAX) != vk::Result::eSuccess) return 1;
  }

  // --- vkgrad on the application's device and buffers -----------------------------------------
  int correct = 0;
  {
    vkgrad::ExternalDevice external;
    external.instance = static_cast<VkInstance>(*instance);
    external.physical_device = static_cast<VkPhysicalDevice>(*physical);
    external.device = static_cast<VkDevice>(*device);
    external.queue_family = family;
    external.get_instance_proc_addr = loader.getDispatcher()->vkGetInstanceProcAddr;
    external.instance_api_version = api_version;
    external.enabled_extensions = extensions;
    external.shader_int64 = features.shaderInt64;
    vkgrad::Context ctx(external);
    std::printf("vkgrad kernels: %s (%s)\n", vkgrad::to_string(ctx.kernels().set), ctx.kernels().reason.c_str());

    const uint32_t usage_bits = static_cast<uint32_t>(usage);
    vkgrad::nn::DeviceDataset data{
        vkgrad::Tensor::wrap(ctx, {vkgrad::vk_handle(*features_buffer.buffer), 0, kPoints * 2 * 4, usage_bits},
                             {kPoints, 2}),
        vkgrad::Tensor::wrap(ctx, {vkgrad::vk_handle(*labels_buffer.buffer), 0, kPoints * 4, usage_bits}, {kPoints},
                             vkgrad::DType::i32)};
    vkgrad::nn::Sequential model(ctx);
    model.emplace<vkgrad::nn::Linear>(2, 32);
    model.emplace<vkgrad::nn::Activation>(vkgrad::Activation::tanh);
    model.emplace<vkgrad::nn::Linear>(32, 2);
    vkgrad::nn::CrossEntropyLoss loss(ctx);
    vkgrad::nn::Adam opt(model, {.lr = 0.02f});
    vkgrad::nn::Trainer trainer(ctx, model, loss, opt, {.batch = 128});
    for (int epoch = 1; epoch <= 20; ++epoch) {
      const auto m = trainer.train_epoch(data);
      if (epoch % 5 == 0) std::printf("epoch %2d: loss %.4f, accuracy %.1f%%\n", epoch, m.loss, 100 * m.accuracy);
    }

    // The predicted classes go into the application's buffer; its fence says when they are there.
    vkgrad::Tensor predictions =
        vkgrad::Tensor::wrap(ctx, {vkgrad::vk_handle(*predictions_buffer.buffer), 0, kPoints * 4, usage_bits},
                             {kPoints}, vkgrad::DType::i32);
    vkgrad::CommandList cmd(ctx);
    model.predict(cmd, data.images, predictions, vkgrad::nn::Prediction::classes);
    vk::raii::Fence predicted(device, vk::FenceCreateInfo());
    vkgrad::SubmitSync sync;
    sync.fence = vkgrad::vk_handle(*predicted);
    cmd.submit(sync);
    if (device.waitForFences(*predicted, VK_TRUE, UINT64_MAX) != vk::Result::eSuccess) return 1;
    const auto* labels = static_cast<const int32_t*>(labels_buffer.mapped);
    const auto* classes = static_cast<const int32_t*>(predictions_buffer.mapped);
    for (uint32_t i = 0; i < kPoints; ++i) correct += classes[i] == labels[i];
  }  // vkgrad's objects are gone; the application's device, queue and buffers remain its own
  const double accuracy = double(correct) / kPoints;
  std::printf("the application reads the predictions from its buffer: %d of %u correct (%.1f%%)\n", correct, kPoints,
              100 * accuracy);
  device.waitIdle();
  return accuracy >= 0.9 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vkgrad-interop: %s\n", e.what());
  return 1;
}
