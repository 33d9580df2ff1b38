#include "kernel_select.hpp"

#include <bit>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "context_impl.hpp"
#include "errors.hpp"
#include "memory.hpp"
#include "shader_registry.hpp"
#include "../shaders/spec_ids.h"

namespace vkgrad::detail {

namespace {

// SPIR-V opcodes, decorations and operands read here (SPIR-V specification, section 3).
constexpr uint32_t kOpTypeInt = 21, kOpTypeFloat = 22, kOpTypeImage = 25, kOpTypeSampledImage = 27, kOpTypeStruct = 30,
                   kOpTypePointer = 32, kOpVariable = 59, kOpDecorate = 71;
constexpr uint32_t kDecorationBlock = 2, kDecorationBufferBlock = 3, kDecorationBinding = 33,
                   kDecorationDescriptorSet = 34;
constexpr uint32_t kStorageUniformConstant = 0, kStorageUniform = 2, kStorageStorageBuffer = 12;
constexpr uint32_t kDimBuffer = 5;

[[noreturn]] void unreadable(const std::string& why) {
  throw Error("vkgrad: internal error: an embedded SPIR-V module cannot be reflected: " + why);
}

}  // namespace

std::vector<BindingKind> reflect_bindings(std::span<const uint32_t> words) {
  if (words.size() < 5 || words[0] != 0x07230203u) unreadable("no SPIR-V header");
  struct Type {
    uint32_t op = 0;
    std::vector<uint32_t> operands;  // after the result id
  };
  std::unordered_map<uint32_t, Type> types;
  std::unordered_map<uint32_t, uint32_t> binding, set;
  std::unordered_map<uint32_t, uint32_t> block_kind;     // struct id -> Block / BufferBlock
  std::vector<std::pair<uint32_t, uint32_t>> variables;  // (pointer type, id)
  for (std::size_t i = 5; i < words.size();) {
    const uint32_t count = words[i] >> 16, op = words[i] & 0xffffu;
    if (count == 0 || i + count > words.size()) unreadable("a truncated instruction");
    const uint32_t* w = &words[i];
    if (op == kOpDecorate && count >= 3) {
      if (w[2] == kDecorationBinding && count >= 4) binding[w[1]] = w[3];
      if (w[2] == kDecorationDescriptorSet && count >= 4) set[w[1]] = w[3];
      if (w[2] == kDecorationBlock || w[2] == kDecorationBufferBlock) block_kind[w[1]] = w[2];
    } else if ((op == kOpTypeInt || op == kOpTypeFloat || op == kOpTypeImage || op == kOpTypeSampledImage ||
                op == kOpTypeStruct || op == kOpTypePointer) &&
               count >= 2) {
      types[w[1]] = Type{op, std::vector<uint32_t>(w + 2, w + count)};
    } else if (op == kOpVariable && count >= 4) {
      variables.emplace_back(w[1], w[2]);
    }
    i += count;
  }
  std::vector<BindingKind> out;
  for (const auto& [pointer_id, id] : variables) {
    const auto b = binding.find(id);
    if (b == binding.end()) continue;  // not a descriptor (push constants, shared memory, built-ins)
    if (set.contains(id) && set[id] != 0) unreadable("a binding outside descriptor set 0");
    const auto pointer = types.find(pointer_id);
    if (pointer == types.end() || pointer->second.op != kOpTypePointer || pointer->second.operands.size() < 2) {
      unreadable("a variable without a pointer type");
    }
    const uint32_t storage = pointer->second.operands[0];
    const uint32_t pointee = pointer->second.operands[1];
    BindingKind kind = BindingKind::none;
    if (storage == kStorageStorageBuffer ||
        (storage == kStorageUniform && block_kind.contains(pointee) && block_kind[pointee] == kDecorationBufferBlock)) {
      kind = BindingKind::storage;
    } else if (storage == kStorageUniformConstant) {
      auto t = types.find(pointee);
      if (t != types.end() && t->second.op == kOpTypeSampledImage && !t->second.operands.empty()) {
        t = types.find(t->second.operands[0]);
      }
      // OpTypeImage: sampled type, dim, depth, arrayed, multisampled, sampled, format.
      if (t == types.end() || t->second.op != kOpTypeImage || t->second.operands.size() < 6 ||
          t->second.operands[1] != kDimBuffer || t->second.operands[5] != 1) {
        unreadable("binding " + std::to_string(b->second) + " is an image that is not a uniform texel buffer");
      }
      const auto sampled = types.find(t->second.operands[0]);
      kind = sampled != types.end() && sampled->second.op == kOpTypeInt ? BindingKind::texel_uint
                                                                        : BindingKind::texel_float;
    } else {
      unreadable("binding " + std::to_string(b->second) + " is neither a storage buffer nor a texel buffer");
    }
    if (out.size() <= b->second) out.resize(b->second + 1, BindingKind::none);
    if (out[b->second] != BindingKind::none && out[b->second] != kind) {
      unreadable("binding " + std::to_string(b->second) + " is declared as two kinds of descriptor");
    }
    out[b->second] = kind;
  }
  return out;
}

namespace {

// The reflected bindings of an embedded module, computed once per module.
const std::vector<BindingKind>& bindings_of(const ShaderBinary& module) {
  static std::mutex mutex;
  static std::map<const ShaderBinary*, std::vector<BindingKind>> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(&module);
  if (it == cache.end()) {
    std::vector<uint32_t> words(module.size / 4);
    std::memcpy(words.data(), module.data, module.size);
    it = cache.emplace(&module, reflect_bindings(words)).first;
  }
  return it->second;
}

}  // namespace

void check_descriptor_limits(const DeviceInfo& dev, const Kernel& kernel, std::string_view op) {
  const auto texel = static_cast<uint32_t>(std::popcount(kernel.texel_bindings));
  const uint32_t storage = kernel.bindings - texel;
  auto refuse = [&](uint32_t count, const char* kind, const char* limit, uint32_t most) {
    throw UnsupportedError("vkgrad: " + std::string(op) + " binds " + std::to_string(count) + " " + kind +
                           " in one pipeline, but " + dev.name + " allows " + std::to_string(most) + " (" + limit +
                           "); this op cannot run on this device");
  };
  if (storage > dev.max_storage_buffers_per_stage) {
    refuse(storage, "storage buffers", "maxPerStageDescriptorStorageBuffers", dev.max_storage_buffers_per_stage);
  }
  if (texel > dev.max_texel_buffers_per_stage) {
    refuse(texel, "uniform texel buffers", "maxPerStageDescriptorSampledImages", dev.max_texel_buffers_per_stage);
  }
}

Kernel resolve_kernel(const ContextImpl& context, const Kernel& requested, std::initializer_list<BufferUse> uses) {
  Kernel kernel = requested;
  const std::string_view shader = requested.shader;
  const BufferUse* use = uses.begin();
  uint32_t variant = kVariantPlain;
  if (context.kernels.texel_loads) {
    if (const ShaderBinary* build = find_shader_build(shader, kVariantTexel)) {
      const auto& kinds = bindings_of(*build);
      uint32_t texel_bits = 0, raw_bits = 0;
      bool eligible = kinds.size() <= uses.size();
      for (std::size_t b = 0; eligible && b < kinds.size(); ++b) {
        if (kinds[b] != BindingKind::texel_float && kinds[b] != BindingKind::texel_uint) continue;
        const bool raw = kinds[b] == BindingKind::texel_uint;
        eligible = use[b].access == Access::read && use[b].tensor->buffer().texel_readable(use[b].tensor->dtype(), raw);
        texel_bits |= 1u << b;
        if (raw) raw_bits |= 1u << b;
      }
      if (eligible) {
        variant |= kVariantTexel;
        kernel.texel_bindings = texel_bits;
        kernel.raw_texel_bindings = raw_bits;
      }
    }
  }
  if (!(variant & kVariantTexel)) {
    uint32_t f16_mask = 0;
    for (std::size_t b = 0; b < uses.size(); ++b) {
      if (use[b].access == Access::read && use[b].tensor->dtype() == DType::f16) f16_mask |= 1u << b;
    }
    if (f16_mask != 0 && find_shader_build(shader, kVariantF16) != nullptr) {
      variant |= kVariantF16;
      // Ids below VKGRAD_SPEC_F16_MASK that the shader does not declare are ignored (Vulkan allows
      // map entries for undeclared ids).
      if (kernel.specialization.size() <= VKGRAD_SPEC_F16_MASK) {
        kernel.specialization.resize(VKGRAD_SPEC_F16_MASK + 1, 0);
      }
      kernel.specialization[VKGRAD_SPEC_F16_MASK] = f16_mask;
    }
  }
  if (context.kernels.subgroup_reductions && find_shader_build(shader, variant | kVariantSubgroup) != nullptr) {
    variant |= kVariantSubgroup;
  }
  const ShaderBinary* build = find_shader_build(shader, variant);
  if (build == nullptr) {
    throw Error("vkgrad: internal error: no embedded build of shader '" + std::string(shader) +
                "' (the build did not compile shaders/" + std::string(shader) + ".comp)");
  }
  kernel.shader = build->name;  // the registry's name outlives the Kernel
  return kernel;
}

}  // namespace vkgrad::detail
