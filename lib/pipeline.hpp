// Compute pipelines, created lazily once per (shader, specialization constants) and kept for the
// context's lifetime, backed by a VkPipelineCache that is persisted on disk between runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vulkan.hpp"

namespace vkgrad::detail {

struct ContextImpl;

/// What a dispatch needs from a pipeline: the shader, its specialization constants (constant_id i
/// gets specialization[i], 32-bit each; the first is the local size in x, shaders/spec_ids.h), how
/// many storage buffers (bindings 0..n-1 of set 0) and the push-constant block size.
struct Kernel {
  std::string_view shader;
  std::vector<uint32_t> specialization;
  uint32_t bindings = 0;
  uint32_t push_constant_bytes = 0;
  /// Bit b set: binding b is a uniform texel buffer (the tensor's R32G32B32A32_SFLOAT view, or
  /// R16G16B16A16_SFLOAT for f16) instead of a storage buffer. Set by resolve_kernel
  /// (lib/kernel_select.hpp) from the chosen module's declarations.
  uint32_t texel_bindings = 0;
  /// Bit b set (only with texel_bindings bit b): the texel buffer is the R32G32B32A32_UINT view, the
  /// tensor's bits (usamplerBuffer), whatever its dtype.
  uint32_t raw_texel_bindings = 0;
};

struct Pipeline {
  vk::raii::DescriptorSetLayout set_layout{nullptr};
  vk::raii::PipelineLayout layout{nullptr};
  vk::raii::Pipeline pipeline{nullptr};
  uint32_t bindings = 0;
  uint32_t push_constant_bytes = 0;
  uint32_t texel_bindings = 0;
};

class PipelineCache {
 public:
  /// `file` empty: no persistence.
  PipelineCache(ContextImpl& context, std::filesystem::path file);
  ~PipelineCache();

  /// The pipeline for `kernel`, created on first use. Thread-safe; the reference stays valid.
  const Pipeline& get(const Kernel& kernel);
  /// Writes the cache file atomically (temp file + rename). Failures are ignored: a cache is an
  /// optimisation, never a reason to fail.
  void save() noexcept;
  const std::filesystem::path& file() const { return file_; }
  std::size_t size() const;

 private:
  ContextImpl& context_;
  std::filesystem::path file_;
  mutable std::mutex mutex_;
  vk::raii::PipelineCache cache_{nullptr};
  std::map<std::string, vk::raii::ShaderModule, std::less<>> modules_;
  std::map<std::string, std::unique_ptr<Pipeline>, std::less<>> pipelines_;
};

}  // namespace vkgrad::detail
