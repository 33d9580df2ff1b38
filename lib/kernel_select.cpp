#include "kernel_select.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "context_impl.hpp"
#include "errors.hpp"
#include "memory.hpp"
#include "pipeline.hpp"
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
// The float-controls declaration of shaders/float_controls.glsl (SPV_KHR_float_controls).
constexpr uint32_t kOpExtension = 10, kOpExecutionMode = 16, kOpCapability = 17;
constexpr uint32_t kCapabilitySignedZeroInfNanPreserve = 4466, kExecutionModeSignedZeroInfNanPreserve = 4461;
// The capabilities of SPV_KHR_float_controls: DenormPreserve .. RoundingModeRTZ.
constexpr uint32_t kFirstFloatControlsCapability = 4464, kLastFloatControlsCapability = 4468;
constexpr std::string_view kFloatControlsExtension = "SPV_KHR_float_controls";
// The workgroup size: the WorkgroupSize built-in's constant, else the LocalSize execution mode.
constexpr uint32_t kOpConstant = 43, kOpConstantComposite = 44, kOpSpecConstant = 50, kOpSpecConstantComposite = 51;
constexpr uint32_t kDecorationSpecId = 1, kDecorationBuiltIn = 11, kBuiltInWorkgroupSize = 25;
constexpr uint32_t kExecutionModeLocalSize = 17;

[[noreturn]] void unreadable(const std::string& why) {
  throw Error("vkgrad: internal error: an embedded SPIR-V module cannot be read: " + why);
}

// Calls visit(w, count) for each instruction of the module after its header: w points at the
// instruction's first word (word count and opcode), count is its length in words.
template <class Visit>
void for_each_instruction(std::span<const uint32_t> words, Visit&& visit) {
  if (words.size() < 5 || words[0] != 0x07230203u) unreadable("no SPIR-V header");
  for (std::size_t i = 5; i < words.size();) {
    const uint32_t count = words[i] >> 16;
    if (count == 0 || i + count > words.size()) unreadable("a truncated instruction");
    visit(&words[i], count);
    i += count;
  }
}

uint32_t opcode(const uint32_t* w) { return w[0] & 0xffffu; }

// The literal string held by the n words at w (UTF-8, NUL-terminated, first byte lowest).
std::string literal_string(const uint32_t* w, uint32_t n) {
  std::string out;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t b = 0; b < 4; ++b) {
      const char c = static_cast<char>((w[i] >> (8 * b)) & 0xffu);
      if (c == '\0') return out;
      out += c;
    }
  }
  return out;
}

bool is_float_controls_extension(const uint32_t* w, uint32_t count) {
  return opcode(w) == kOpExtension && literal_string(w + 1, count - 1) == kFloatControlsExtension;
}

bool is_inf_nan_preserve_capability(const uint32_t* w, uint32_t count) {
  return opcode(w) == kOpCapability && count == 2 && w[1] == kCapabilitySignedZeroInfNanPreserve;
}

// OpExecutionMode <entry point> SignedZeroInfNanPreserve <width>.
bool is_inf_nan_preserve_mode(const uint32_t* w, uint32_t count) {
  return opcode(w) == kOpExecutionMode && count >= 3 && w[2] == kExecutionModeSignedZeroInfNanPreserve;
}

std::vector<uint32_t> embedded_words(const ShaderBinary& module) {
  std::vector<uint32_t> words(module.size / 4);
  std::memcpy(words.data(), module.data, module.size);
  return words;
}

}  // namespace

std::vector<uint32_t> strip_inf_nan_preserve(std::span<const uint32_t> words) {
  bool other_float_controls = false;
  for_each_instruction(words, [&](const uint32_t* w, uint32_t count) {
    if (opcode(w) == kOpCapability && count == 2 && w[1] >= kFirstFloatControlsCapability &&
        w[1] <= kLastFloatControlsCapability && w[1] != kCapabilitySignedZeroInfNanPreserve) {
      other_float_controls = true;
    }
  });
  std::vector<uint32_t> out(words.begin(), words.begin() + 5);
  out.reserve(words.size());
  for_each_instruction(words, [&](const uint32_t* w, uint32_t count) {
    const bool drop = is_inf_nan_preserve_capability(w, count) || is_inf_nan_preserve_mode(w, count) ||
                      (!other_float_controls && is_float_controls_extension(w, count));
    if (!drop) out.insert(out.end(), w, w + count);
  });
  return out;
}

bool declares_inf_nan_preserve(std::span<const uint32_t> words) {
  bool capability = false, extension = false, mode = false;
  for_each_instruction(words, [&](const uint32_t* w, uint32_t count) {
    capability = capability || is_inf_nan_preserve_capability(w, count);
    extension = extension || is_float_controls_extension(w, count);
    mode = mode || (is_inf_nan_preserve_mode(w, count) && count == 4 && w[3] == 32);
  });
  return capability && extension && mode;
}

std::vector<uint32_t> module_words(const KernelChoice& choice, const ShaderBinary& module) {
  auto words = embedded_words(module);
  return choice.preserve_inf_nan ? words : strip_inf_nan_preserve(words);
}

std::vector<BindingKind> reflect_bindings(std::span<const uint32_t> words) {
  struct Type {
    uint32_t op = 0;
    std::vector<uint32_t> operands;  // after the result id
  };
  std::unordered_map<uint32_t, Type> types;
  std::unordered_map<uint32_t, uint32_t> binding, set;
  std::unordered_map<uint32_t, uint32_t> block_kind;     // struct id -> Block / BufferBlock
  std::vector<std::pair<uint32_t, uint32_t>> variables;  // (pointer type, id)
  for_each_instruction(words, [&](const uint32_t* w, uint32_t count) {
    const uint32_t op = opcode(w);
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
  });
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

// A module's workgroup size before specialization: each dimension's default and, where it is a
// specialization constant, its SpecId.
struct WorkgroupShape {
  std::array<uint32_t, 3> size{1, 1, 1};
  std::array<std::optional<uint32_t>, 3> spec_id;

  std::array<uint32_t, 3> specialized(std::span<const uint32_t> specialization) const {
    std::array<uint32_t, 3> out = size;
    for (int d = 0; d < 3; ++d) {
      if (spec_id[d] && *spec_id[d] < specialization.size()) out[d] = specialization[*spec_id[d]];
    }
    return out;
  }
};

WorkgroupShape reflect_workgroup_shape(std::span<const uint32_t> words) {
  std::unordered_map<uint32_t, uint32_t> values, spec_ids;  // scalar constants' defaults and SpecIds
  std::unordered_map<uint32_t, std::array<uint32_t, 3>> composites;
  std::optional<uint32_t> builtin;
  WorkgroupShape shape;
  for_each_instruction(words, [&](const uint32_t* w, uint32_t count) {
    const uint32_t op = opcode(w);
    if (op == kOpDecorate && count >= 4 && w[2] == kDecorationSpecId) spec_ids[w[1]] = w[3];
    if (op == kOpDecorate && count >= 4 && w[2] == kDecorationBuiltIn && w[3] == kBuiltInWorkgroupSize) builtin = w[1];
    if (op == kOpExecutionMode && count >= 6 && w[2] == kExecutionModeLocalSize) shape.size = {w[3], w[4], w[5]};
    if ((op == kOpConstant || op == kOpSpecConstant) && count >= 4) values[w[2]] = w[3];
    if ((op == kOpConstantComposite || op == kOpSpecConstantComposite) && count >= 6) {
      composites[w[2]] = {w[3], w[4], w[5]};
    }
  });
  if (!builtin) return shape;
  const auto composite = composites.find(*builtin);
  if (composite == composites.end()) unreadable("the WorkgroupSize built-in is not a constant of three components");
  for (int d = 0; d < 3; ++d) {
    const uint32_t id = composite->second[d];
    const auto value = values.find(id);
    if (value == values.end()) unreadable("a WorkgroupSize component is not a scalar constant");
    shape.size[d] = value->second;
    if (const auto spec = spec_ids.find(id); spec != spec_ids.end()) shape.spec_id[d] = spec->second;
  }
  return shape;
}

// The workgroup shape of an embedded module, reflected once per module.
const WorkgroupShape& workgroup_shape_of(const ShaderBinary& module) {
  static std::mutex mutex;
  static std::map<const ShaderBinary*, WorkgroupShape> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(&module);
  if (it == cache.end()) it = cache.emplace(&module, reflect_workgroup_shape(embedded_words(module))).first;
  return it->second;
}

}  // namespace

std::array<uint32_t, 3> reflect_workgroup_size(std::span<const uint32_t> words,
                                               std::span<const uint32_t> specialization) {
  return reflect_workgroup_shape(words).specialized(specialization);
}

namespace {

// The reflected bindings of an embedded module, computed once per module.
const std::vector<BindingKind>& bindings_of(const ShaderBinary& module) {
  static std::mutex mutex;
  static std::map<const ShaderBinary*, std::vector<BindingKind>> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(&module);
  if (it == cache.end()) it = cache.emplace(&module, reflect_bindings(embedded_words(module))).first;
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

void check_workgroup_limits(const DeviceInfo& dev, const Kernel& kernel, std::string_view op) {
  const auto size = workgroup_shape_of(shader_binary(kernel.shader)).specialized(kernel.specialization);
  const uint64_t invocations = uint64_t(size[0]) * size[1] * size[2];
  const auto refuse = [&](const std::string& what, const char* limit, uint32_t most) {
    throw UnsupportedError("vkgrad: " + std::string(op) + " runs workgroups of " + std::to_string(size[0]) + " x " +
                           std::to_string(size[1]) + " x " + std::to_string(size[2]) + " invocations (" +
                           std::string(kernel.shader) + "): " + what + ", but " + dev.name + " allows " +
                           std::to_string(most) + " (" + limit + ")");
  };
  for (int d = 0; d < 3; ++d) {
    if (size[d] > dev.max_workgroup_size[d]) {
      refuse(std::to_string(size[d]) + " in dimension " + std::to_string(d), "maxComputeWorkGroupSize",
             dev.max_workgroup_size[d]);
    }
  }
  if (invocations > dev.max_workgroup_invocations) {
    refuse(std::to_string(invocations) + " in all", "maxComputeWorkGroupInvocations", dev.max_workgroup_invocations);
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
