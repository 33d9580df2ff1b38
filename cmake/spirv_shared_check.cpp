// spirv_shared_check: the build's check of every compiled SPIR-V module's shared memory
// (cmake/VkgradShaders.cmake runs it after glslangValidator and spirv-val). A module fails when
//  - a variable of storage class Workgroup (GLSL `shared`) has a type that contains an array whose
//    length is a specialization constant, or derived from one (OpSpecConstant*, an
//    OpSpecConstantOp such as gl_WorkGroupSize.x · 2, a component of an OpSpecConstantComposite),
//    through any nesting of arrays and structs: Metal cannot size threadgroup memory by a function
//    constant, so MoltenVK (through SPIRV-Cross) either fails to create the pipeline or sizes the
//    array by the constant's default value;
//  - its Workgroup variables take more than 16384 bytes, the maxComputeSharedMemorySize every Vulkan
//    device has (sizes with each member aligned to its size, vec3 as vec4).
// Usage: spirv_shared_check <module.spv>...
// Exit status 0 when every module passes, 1 when one fails (a line per finding on stderr), 2 when a
// file cannot be read or is not SPIR-V. A host build tool: standard C++ only, no SPIRV-Tools.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

// Opcodes, decorations and storage classes of the SPIR-V specification this check reads.
enum Op : uint32_t {
  OpName = 5,
  OpTypeBool = 20,
  OpTypeInt = 21,
  OpTypeFloat = 22,
  OpTypeVector = 23,
  OpTypeMatrix = 24,
  OpTypeArray = 28,
  OpTypeRuntimeArray = 29,
  OpTypeStruct = 30,
  OpTypePointer = 32,
  OpConstant = 43,
  OpConstantComposite = 44,
  OpSpecConstantTrue = 48,
  OpSpecConstantFalse = 49,
  OpSpecConstant = 50,
  OpSpecConstantComposite = 51,
  OpSpecConstantOp = 52,
  OpVariable = 59,
  OpDecorate = 71,
};
constexpr uint32_t kMagic = 0x07230203;
constexpr uint32_t kDecorationSpecId = 1;
constexpr uint32_t kDecorationBuiltIn = 11;
constexpr uint32_t kBuiltInWorkgroupSize = 25;
constexpr uint32_t kStorageWorkgroup = 4;
constexpr uint64_t kVulkanMinSharedBytes = 16384;

struct Failure {
  std::string message;
};

struct Instruction {
  uint32_t opcode;
  std::vector<uint32_t> operands;  // the words after the first
};

std::vector<uint32_t> read_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure{"cannot open " + path};
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() % 4 != 0 || bytes.size() < 20) throw Failure{path + " is not a SPIR-V module (size)"};
  std::vector<uint32_t> words(bytes.size() / 4);
  for (std::size_t i = 0; i < words.size(); ++i) {
    uint32_t w = 0;
    for (int b = 0; b < 4; ++b) w |= uint32_t(static_cast<unsigned char>(bytes[4 * i + b])) << (8 * b);
    words[i] = w;
  }
  const auto swap = [](uint32_t w) { return (w >> 24) | ((w >> 8) & 0xff00u) | ((w << 8) & 0xff0000u) | (w << 24); };
  if (words[0] == swap(kMagic)) std::transform(words.begin(), words.end(), words.begin(), swap);
  if (words[0] != kMagic) throw Failure{path + " is not a SPIR-V module (magic number)"};
  return words;
}

std::vector<Instruction> parse(const std::vector<uint32_t>& words, const std::string& path) {
  std::vector<Instruction> out;
  for (std::size_t i = 5; i < words.size();) {
    const uint32_t count = words[i] >> 16;
    if (count == 0 || i + count > words.size()) throw Failure{path + " is not a SPIR-V module (instruction length)"};
    out.push_back({words[i] & 0xffffu, std::vector<uint32_t>(words.begin() + i + 1, words.begin() + i + count)});
    i += count;
  }
  return out;
}

std::string literal_string(const std::vector<uint32_t>& operands, std::size_t first) {
  std::string s;
  for (std::size_t i = first; i < operands.size(); ++i) {
    for (int b = 0; b < 4; ++b) {
      const char c = static_cast<char>((operands[i] >> (8 * b)) & 0xffu);
      if (c == '\0') return s;
      s += c;
    }
  }
  return s;
}

class Module {
 public:
  explicit Module(const std::vector<Instruction>& instructions) {
    for (const auto& in : instructions) {
      const auto& o = in.operands;
      switch (in.opcode) {
        case OpName:
          if (!o.empty()) names_[o[0]] = literal_string(o, 1);
          break;
        case OpDecorate:
          if (o.size() >= 3 && o[1] == kDecorationSpecId) spec_ids_[o[0]] = o[2];
          if (o.size() >= 3 && o[1] == kDecorationBuiltIn && o[2] == kBuiltInWorkgroupSize)
            workgroup_size_.insert(o[0]);
          break;
        case OpSpecConstantTrue:
        case OpSpecConstantFalse:
        case OpSpecConstant:
          if (o.size() >= 2) spec_[o[1]] = {};
          break;
        case OpSpecConstantComposite:
          if (o.size() >= 2) spec_[o[1]] = std::vector<uint32_t>(o.begin() + 2, o.end());
          break;
        case OpSpecConstantOp:
          // Operands: result type, result, the operation's opcode, then its operands (ids, or
          // literal indices for CompositeExtract / VectorShuffle, which name no spec constant).
          if (o.size() >= 3) spec_[o[1]] = std::vector<uint32_t>(o.begin() + 3, o.end());
          break;
        case OpConstant:
          if (o.size() >= 3) constants_[o[1]] = o[2];
          break;
        case OpConstantComposite:
          // A composite of spec constants is derived from them too.
          if (o.size() >= 2 && std::any_of(o.begin() + 2, o.end(), [&](uint32_t id) { return spec_.count(id); }))
            spec_[o[1]] = std::vector<uint32_t>(o.begin() + 2, o.end());
          break;
        case OpTypeBool:
        case OpTypeInt:
        case OpTypeFloat:
        case OpTypeVector:
        case OpTypeMatrix:
        case OpTypeArray:
        case OpTypeRuntimeArray:
        case OpTypeStruct:
        case OpTypePointer:
          if (!o.empty()) types_[o[0]] = in;
          break;
        case OpVariable:
          if (o.size() >= 3 && o[2] == kStorageWorkgroup) workgroup_variables_.push_back({o[1], o[0]});
          break;
        default: break;
      }
    }
  }

  // The findings of `path`, one line each.
  std::vector<std::string> check(const std::string& path) const {
    std::vector<std::string> findings;
    uint64_t total_bytes = 0;
    bool sizes_known = true;
    for (const auto& [variable, pointer_type] : workgroup_variables_) {
      const std::string name = "shared variable '" + name_of(variable) + "'";
      const auto pointer = types_.find(pointer_type);
      if (pointer == types_.end() || pointer->second.opcode != OpTypePointer || pointer->second.operands.size() < 3) {
        findings.push_back(path + ": " + name + " has a type this check cannot follow");
        sizes_known = false;
        continue;
      }
      const uint32_t type = pointer->second.operands[2];
      if (const auto length = spec_length(type)) {
        findings.push_back(path + ": " + name + " has an array length that is a specialization constant (" +
                           describe(*length) +
                           "), which Metal (MoltenVK) cannot size shared memory by. Size the array with a literal "
                           "capacity (shaders/shared_sizes.h), keep the specialization constant in the index "
                           "arithmetic, and keep every launch within the capacity.");
        sizes_known = false;
        continue;
      }
      const auto bytes = size_of(type);
      if (!bytes) {
        sizes_known = false;
        continue;
      }
      total_bytes += bytes->size;
    }
    if (sizes_known && total_bytes > kVulkanMinSharedBytes) {
      findings.push_back(path + ": the shared variables take " + std::to_string(total_bytes) +
                         " bytes, more than the " + std::to_string(kVulkanMinSharedBytes) +
                         " bytes of shared memory every Vulkan device has (maxComputeSharedMemorySize); lower the "
                         "literal capacities (shaders/shared_sizes.h).");
    }
    return findings;
  }

 private:
  struct Size {
    uint64_t size, align;
  };

  std::string name_of(uint32_t id) const {
    const auto it = names_.find(id);
    return it != names_.end() && !it->second.empty() ? it->second : "%" + std::to_string(id);
  }

  // The spec-constant length of an array in `type` (through arrays and structs), if any.
  std::optional<uint32_t> spec_length(uint32_t type) const {
    const auto it = types_.find(type);
    if (it == types_.end()) return std::nullopt;
    const auto& o = it->second.operands;
    switch (it->second.opcode) {
      case OpTypeArray:
        if (o.size() >= 3 && spec_.count(o[2])) return o[2];
        return o.size() >= 2 ? spec_length(o[1]) : std::nullopt;
      case OpTypeRuntimeArray: return o.size() >= 2 ? spec_length(o[1]) : std::nullopt;
      case OpTypeStruct:
        for (std::size_t i = 1; i < o.size(); ++i) {
          if (const auto length = spec_length(o[i])) return length;
        }
        return std::nullopt;
      default: return std::nullopt;
    }
  }

  // Where the spec constant `id` comes from: its name, SpecId or the workgroup size, or, for an
  // expression or composite, those of the spec constants it is made of.
  std::string describe(uint32_t id) const {
    std::vector<std::string> sources;
    add_sources(id, sources, 0);
    std::string joined;
    for (const auto& s : sources) joined += (joined.empty() ? "" : " and ") + s;
    if (sources.empty()) joined = "%" + std::to_string(id);
    return leaf(id).empty() ? "derived from " + joined : joined;
  }

  std::string leaf(uint32_t id) const {
    std::string what;
    if (names_.count(id)) what = "'" + names_.at(id) + "'";
    if (spec_ids_.count(id))
      what += (what.empty() ? "" : ", ") + std::string("SpecId ") + std::to_string(spec_ids_.at(id));
    if (workgroup_size_.count(id))
      what += (what.empty() ? "" : ", ") + std::string("the workgroup size gl_WorkGroupSize");
    return what;
  }

  void add_sources(uint32_t id, std::vector<std::string>& sources, int depth) const {
    if (const std::string what = leaf(id); !what.empty()) {
      if (std::find(sources.begin(), sources.end(), what) == sources.end()) sources.push_back(what);
      return;
    }
    const auto it = spec_.find(id);
    if (it == spec_.end() || depth > 16) return;
    for (const uint32_t operand : it->second) {
      if (spec_.count(operand)) add_sources(operand, sources, depth + 1);
    }
  }

  // Bytes of `type` as a driver lays shared memory out (members aligned to their size, vec3 as vec4),
  // or nothing for a type without a known size.
  std::optional<Size> size_of(uint32_t type) const {
    const auto it = types_.find(type);
    if (it == types_.end()) return std::nullopt;
    const auto& o = it->second.operands;
    switch (it->second.opcode) {
      case OpTypeBool: return Size{4, 4};
      case OpTypeInt:
      case OpTypeFloat:
        if (o.size() < 2) return std::nullopt;
        return Size{o[1] / 8, o[1] / 8};
      case OpTypeVector:
      case OpTypeMatrix: {
        if (o.size() < 3) return std::nullopt;
        const auto element = size_of(o[1]);
        if (!element) return std::nullopt;
        const uint64_t count = it->second.opcode == OpTypeVector && o[2] == 3 ? 4 : o[2];
        const uint64_t align = it->second.opcode == OpTypeVector ? element->size * count : element->align;
        return Size{element->size * count, align};
      }
      case OpTypeArray: {
        if (o.size() < 3 || !constants_.count(o[2])) return std::nullopt;
        const auto element = size_of(o[1]);
        if (!element) return std::nullopt;
        const uint64_t stride = (element->size + element->align - 1) / element->align * element->align;
        return Size{stride * constants_.at(o[2]), element->align};
      }
      case OpTypeStruct: {
        uint64_t offset = 0, align = 1;
        for (std::size_t i = 1; i < o.size(); ++i) {
          const auto member = size_of(o[i]);
          if (!member) return std::nullopt;
          offset = (offset + member->align - 1) / member->align * member->align + member->size;
          align = std::max(align, member->align);
        }
        return Size{(offset + align - 1) / align * align, align};
      }
      default: return std::nullopt;
    }
  }

  std::map<uint32_t, std::string> names_;
  std::map<uint32_t, uint32_t> spec_ids_;
  std::set<uint32_t> workgroup_size_;
  std::map<uint32_t, std::vector<uint32_t>> spec_;  // spec constant -> the ids it is made of
  std::map<uint32_t, uint32_t> constants_;          // OpConstant -> its first word (array lengths)
  std::map<uint32_t, Instruction> types_;
  std::vector<std::pair<uint32_t, uint32_t>> workgroup_variables_;  // variable, pointer type
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: spirv_shared_check <module.spv>...\n";
    return 2;
  }
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    try {
      const auto findings = Module(parse(read_words(path), path)).check(path);
      for (const auto& f : findings) std::cerr << f << '\n';
      if (!findings.empty()) status = std::max(status, 1);
    } catch (const Failure& f) {
      std::cerr << "spirv_shared_check: " << f.message << '\n';
      status = 2;
    }
  }
  return status;
}
