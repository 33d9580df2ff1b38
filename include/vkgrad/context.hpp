// The Vulkan context: instance, chosen physical device, logical device, compute queue, device-memory
// allocator and the pipeline cache. Everything else (tensors, command lists) is created from one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vkgrad {

namespace detail {
struct ContextImpl;
}

enum class DeviceType { other, integrated_gpu, discrete_gpu, virtual_gpu, cpu };

/// "discrete GPU", "integrated GPU", "virtual GPU", "CPU" or "other".
const char* to_string(DeviceType type);

/// What vkgrad knows about one Vulkan physical device.
struct DeviceInfo {
  uint32_t index = 0;             ///< position in the loader's enumeration (what VKGRAD_DEVICE=N picks)
  std::string name;               ///< e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"
  DeviceType type = DeviceType::other;
  std::string driver_name;        ///< VkPhysicalDeviceDriverProperties::driverName (empty if unknown)
  std::string driver_info;        ///< VkPhysicalDeviceDriverProperties::driverInfo (empty if unknown)
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t api_version = 0;       ///< VK_MAKE_API_VERSION encoded
  uint32_t driver_version = 0;
  uint32_t subgroup_size = 0;     ///< 0 when the device does not report subgroup properties
  bool subgroup_arithmetic = false;  ///< subgroupAdd etc. available in compute shaders
  bool subgroup_ballot = false;      ///< subgroupBroadcast etc. available in compute shaders
  bool shader_float16 = false;       ///< shaderFloat16 (f16 arithmetic in shaders); not used by vkgrad yet
  bool cooperative_matrix = false;   ///< VK_KHR_cooperative_matrix is exposed; not used by vkgrad yet
  uint32_t max_shared_memory = 0;    ///< maxComputeSharedMemorySize, bytes
  uint64_t max_storage_buffer_range = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_push_constants = 0;
  bool timestamps = false;        ///< the compute queue supports timestamp queries
  float timestamp_period_ns = 0;  ///< nanoseconds per timestamp tick
  uint64_t device_local_bytes = 0;  ///< size of the largest device-local heap
  bool unified_memory = false;    ///< device-local memory is host-visible (integrated GPU, CPU)
  bool usable = false;            ///< Vulkan >= 1.1 and a compute queue: vkgrad can run on it
  std::string unusable_reason;    ///< why not, when !usable
};

/// Lists the Vulkan devices the loader sees, in enumeration order. Throws SetupError when there is
/// no loader or the instance cannot be created.
std::vector<DeviceInfo> list_devices();

/// Options for Context. Unset fields fall back to environment variables, then to defaults.
struct ContextOptions {
  /// Device index ("0") or case-insensitive substring of its name ("h100", "llvmpipe").
  /// Empty: VKGRAD_DEVICE, else the best device (discrete > integrated > virtual > CPU).
  std::string device;
  /// Khronos validation layer with synchronization validation. Unset: VKGRAD_VALIDATION=1 enables.
  std::optional<bool> validation;
  /// Persist the VkPipelineCache on disk. Unset: on unless VKGRAD_PIPELINE_CACHE=0.
  std::optional<bool> pipeline_cache;
  /// Where the pipeline cache lives. Empty: VKGRAD_CACHE_DIR, else $XDG_CACHE_HOME/vkgrad, else
  /// $HOME/.cache/vkgrad.
  std::filesystem::path cache_dir;
  /// Keep tensors in host-visible memory and transfer by memcpy. Unset: only on unified-memory
  /// devices (integrated GPUs, CPUs). false forces the staging-buffer path everywhere.
  std::optional<bool> mapped_tensors;
  /// Reductions (softmax, losses, sums, maxima, ...) with subgroup operations where the device
  /// supports subgroup arithmetic in compute shaders. Unset: on unless VKGRAD_SUBGROUPS=0; false
  /// forces the portable shared-memory path everywhere.
  std::optional<bool> subgroup_reductions;
  /// Most bytes of device memory vkgrad may reserve from the driver (tensor blocks and staging
  /// buffers together); an allocation beyond it throws OutOfMemoryError. Unset: VKGRAD_MEMORY_LIMIT
  /// (bytes, or with a K/M/G/T suffix: "512M", "2G"), else no limit; 0 means no limit.
  std::optional<uint64_t> memory_limit;
  /// Called (from any thread) for every validation warning or error, besides it being recorded.
  /// Unset: each message is printed to stderr.
  std::function<void(std::string_view)> on_validation_message;

  ContextOptions& set_device(std::string d) { device = std::move(d); return *this; }
  ContextOptions& set_validation(bool on) { validation = on; return *this; }
  ContextOptions& set_pipeline_cache(bool on) { pipeline_cache = on; return *this; }
  ContextOptions& set_mapped_tensors(bool on) { mapped_tensors = on; return *this; }
  ContextOptions& set_subgroup_reductions(bool on) { subgroup_reductions = on; return *this; }
  ContextOptions& set_memory_limit(uint64_t bytes) { memory_limit = bytes; return *this; }
  ContextOptions& set_cache_dir(std::filesystem::path dir) { cache_dir = std::move(dir); return *this; }
};

/// A Vulkan device ready for compute. Move-only. Tensors and command lists created from it keep the
/// underlying device alive, so destroying the Context object before them is safe.
///
/// Thread safety: a Context may be used from several threads at once (tensor creation, pipeline
/// creation and queue submission are internally synchronized). A single Tensor or CommandList must
/// not be used from two threads at the same time.
class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& device() const;
  bool validation_enabled() const;
  /// Validation messages (warnings and errors) received so far.
  std::vector<std::string> validation_messages() const;
  std::size_t validation_message_count() const;
  void clear_validation_messages();
  /// The pipeline-cache file, or empty when the cache is disabled.
  std::filesystem::path pipeline_cache_path() const;
  /// Whether reductions use subgroup operations (see ContextOptions::subgroup_reductions).
  bool subgroup_reductions() const;
  /// Bytes of device memory currently held by live tensors.
  uint64_t allocated_bytes() const;
  /// Bytes of device memory reserved from the driver (blocks the allocator sub-allocates from).
  uint64_t reserved_bytes() const;
  /// The memory limit in force (ContextOptions::memory_limit), 0 when there is none.
  uint64_t memory_limit() const;
  /// Blocks until the device has finished all submitted work.
  void wait_idle();
  /// Whether the device was lost (DeviceLostError). A lost context stays lost: every later call
  /// that uses the device throws DeviceLostError; destroying its objects is still safe.
  bool lost() const;

  detail::ContextImpl& impl() const { return *impl_; }
  const std::shared_ptr<detail::ContextImpl>& shared_impl() const { return impl_; }

 private:
  std::shared_ptr<detail::ContextImpl> impl_;
};

}  // namespace vkgrad
