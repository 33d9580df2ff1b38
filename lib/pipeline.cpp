#include "pipeline.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "context_impl.hpp"
#include "errors.hpp"
#include "kernel_select.hpp"
#include "platform.hpp"
#include "../shaders/spec_ids.h"
#include "shader_registry.hpp"

namespace vkgrad::detail {

const ShaderBinary& shader_binary(std::string_view name) {
  for (const auto& s : shader_binaries()) {
    if (s.name == name) return s;
  }
  throw Error("vkgrad: internal error: no embedded shader named '" + std::string(name) +
              "' (the build did not compile shaders/" + std::string(name) + ".comp)");
}

namespace {

// The header every VkPipelineCache blob starts with (VkPipelineCacheHeaderVersionOne).
bool header_matches(const std::vector<char>& data, const vk::PhysicalDeviceProperties& props) {
  if (data.size() < 32) return false;
  uint32_t header_size, version, vendor, device;
  std::memcpy(&header_size, data.data(), 4);
  std::memcpy(&version, data.data() + 4, 4);
  std::memcpy(&vendor, data.data() + 8, 4);
  std::memcpy(&device, data.data() + 12, 4);
  return header_size >= 32 && header_size <= data.size() && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         vendor == props.vendorID && device == props.deviceID &&
         std::memcmp(data.data() + 16, props.pipelineCacheUUID.data(), VK_UUID_SIZE) == 0;
}

std::string pipeline_key(const Kernel& k) {
  std::string key(k.shader);
  for (uint32_t v : k.specialization) {
    key += ':';
    key += std::to_string(v);
  }
  key += '/';
  key += std::to_string(k.bindings);
  key += '/';
  key += std::to_string(k.push_constant_bytes);
  if (k.texel_bindings != 0) key += "/texel" + std::to_string(k.texel_bindings);
  return key;
}

}  // namespace

PipelineCache::PipelineCache(ContextImpl& context, std::filesystem::path file)
    : context_(context), file_(std::move(file)) {
  std::vector<char> data;
  if (!file_.empty()) {
    std::ifstream in(file_, std::ios::binary);
    if (in) data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    // A blob from another driver or device, or a damaged file, is ignored rather than handed to the
    // driver: not every driver validates what it is given.
    if (!header_matches(data, context_.physical.getProperties())) data.clear();
  }
  cache_ = vk_call("creating the pipeline cache", [&] {
    return context_.device.createPipelineCache(vk::PipelineCacheCreateInfo({}, data.size(), data.data()));
  });
}

PipelineCache::~PipelineCache() = default;

std::size_t PipelineCache::size() const {
  std::lock_guard lock(mutex_);
  return pipelines_.size();
}

const ShaderBinary* find_shader_build(std::string_view shader, uint32_t variant) {
  for (const auto& s : shader_binaries()) {
    if (s.shader == shader && s.variant == variant) return &s;
  }
  return nullptr;
}

const Pipeline& PipelineCache::get(const Kernel& kernel) {
  const std::string key = pipeline_key(kernel);
  std::lock_guard lock(mutex_);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  auto module_it = modules_.find(kernel.shader);
  if (module_it == modules_.end()) {
    // Without NaN / inf preservation, the module's declaration of it is stripped here.
    const auto words = module_words(context_.kernels, shader_binary(kernel.shader));
    auto module = vk_call("creating shader module " + std::string(kernel.shader),
                          [&] { return context_.device.createShaderModule(vk::ShaderModuleCreateInfo({}, words)); });
    module_it = modules_.emplace(std::string(kernel.shader), std::move(module)).first;
  }

  auto p = std::make_unique<Pipeline>();
  p->bindings = kernel.bindings;
  p->push_constant_bytes = kernel.push_constant_bytes;
  p->texel_bindings = kernel.texel_bindings;
  std::vector<vk::DescriptorSetLayoutBinding> bindings;
  for (uint32_t b = 0; b < kernel.bindings; ++b) {
    const bool texel = (kernel.texel_bindings >> b) & 1u;
    bindings.emplace_back(b, texel ? vk::DescriptorType::eUniformTexelBuffer : vk::DescriptorType::eStorageBuffer, 1,
                          vk::ShaderStageFlagBits::eCompute);
  }
  p->set_layout = context_.device.createDescriptorSetLayout(vk::DescriptorSetLayoutCreateInfo({}, bindings));
  const vk::PushConstantRange range(vk::ShaderStageFlagBits::eCompute, 0, kernel.push_constant_bytes);
  vk::PipelineLayoutCreateInfo layout_info({}, *p->set_layout);
  if (kernel.push_constant_bytes > 0) layout_info.setPushConstantRanges(range);
  p->layout = context_.device.createPipelineLayout(layout_info);

  // Positional: constant_id i is specialization[i], so the local size, every kernel's first value,
  // is the id the shaders declare it with.
  static_assert(VKGRAD_SPEC_LOCAL_SIZE_X == 0);
  std::vector<vk::SpecializationMapEntry> entries;
  for (uint32_t i = 0; i < kernel.specialization.size(); ++i) entries.emplace_back(i, i * 4, 4);
  const vk::SpecializationInfo spec(entries, vk::ArrayProxyNoTemporaries<const uint32_t>(kernel.specialization));
  const vk::PipelineShaderStageCreateInfo stage({}, vk::ShaderStageFlagBits::eCompute, *module_it->second, "main",
                                                kernel.specialization.empty() ? nullptr : &spec);
  p->pipeline = vk_call("creating the compute pipeline for " + key, [&] {
    return context_.device.createComputePipeline(cache_, vk::ComputePipelineCreateInfo({}, stage, *p->layout));
  });
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

void PipelineCache::save() noexcept {
  if (file_.empty()) return;
  try {
    std::vector<uint8_t> data;
    {
      std::lock_guard lock(mutex_);
      data = cache_.getData();
    }
    if (data.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    if (ec) return;
    auto tmp = file_;
    // Unique per process and cache object, so concurrent writers never share a temp file.
    std::string suffix = ".";
    suffix += std::to_string(platform::process_id());
    suffix += '-';
    suffix += std::to_string(reinterpret_cast<uintptr_t>(this));
    suffix += ".tmp";
    tmp += suffix;
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
      if (!out) {
        out.close();
        std::filesystem::remove(tmp, ec);
        return;
      }
    }
    std::filesystem::rename(tmp, file_, ec);
    if (ec) std::filesystem::remove(tmp, ec);
  } catch (...) {
    // An unwritable cache is not an error.
  }
}

}  // namespace vkgrad::detail
