/// \file
/// The Vulkan context: instance, chosen physical device, logical device, compute queue, device-memory
/// allocator and the pipeline cache. Everything else (tensors, command lists) is created from one.
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
struct ExternalDevice;

/// The kind of a Vulkan physical device (VkPhysicalDeviceType): other, integrated GPU, discrete GPU,
/// virtual GPU (in a virtual machine) or CPU (a software implementation such as lavapipe).
enum class DeviceType { other, integrated_gpu, discrete_gpu, virtual_gpu, cpu };

/// "discrete GPU", "integrated GPU", "virtual GPU", "CPU" or "other".
const char* to_string(DeviceType type);

/// Which kernels a context runs (ContextOptions::kernels, VKGRAD_KERNELS).
///  - gpu: the kernels written for GPUs: storage-buffer loads, the tiled shared-memory GEMM, a
///    workgroup per row for row reductions, subgroup arithmetic where the device has it.
///  - cpu: the specialisation for CPU Vulkan drivers (lavapipe, SwiftShader), where a workgroup is
///    one thread whose invocations are SIMD lanes: texel-buffer loads, a GEMM without shared memory
///    or barriers, one invocation per row, no subgroup operations.
///  - automatic: cpu on CPU devices, gpu on every other device.
///
/// Both sets compute the same results within each op's documented tolerance; every op has both.
enum class KernelSet { automatic, gpu, cpu };

/// "auto", "gpu" or "cpu" (the VKGRAD_KERNELS spelling).
const char* to_string(KernelSet set);

/// The main loop of gemm / linear_forward / linear_backward. tiled: workgroup tiles staged through
/// shared memory (the gpu kernel set). direct: each invocation computes a few columns of a block
/// of rows straight from memory, no shared memory or barriers (cpu). broadcast: the direct loop
/// with op(A) shared across an 8-lane subgroup by subgroupBroadcast (cpu, where the device has
/// 8-wide subgroups with ballot operations; elsewhere it runs as direct).
enum class GemmPath { tiled, direct, broadcast };

/// "tiled", "direct" or "broadcast".
const char* to_string(GemmPath path);

/// How row-wise reductions (softmax, cross-entropy, row sums, BatchNorm's per-channel statistics)
/// are laid out. workgroup: a workgroup cooperates on each row or channel tile through shared
/// memory and barriers (gpu). per_invocation: each invocation owns whole rows or channel columns
/// and loops over them itself (cpu).
enum class RowReductions { workgroup, per_invocation };

/// "workgroup" or "per_invocation".
const char* to_string(RowReductions layout);

/// The kernels a context uses, and why (Context::kernels()).
struct KernelChoice {
  KernelSet set = KernelSet::gpu;        ///< gpu or cpu, never automatic
  std::string reason;                    ///< e.g. "VKGRAD_KERNELS=gpu", "auto: llvmpipe is a CPU device"
  bool texel_loads = false;              ///< elementwise ops and GEMM read through texel buffers
  bool subgroup_reductions = false;      ///< reductions use subgroup arithmetic
  GemmPath gemm_path = GemmPath::tiled;  ///< as run (broadcast already resolved to direct where unsupported)
  RowReductions row_reductions = RowReductions::workgroup;  ///< the row-reduction layout
  /// The shader modules keep their SignedZeroInfNanPreserve declaration, so the driver must keep
  /// NaN, ±inf and signed zeros of 32-bit floats (isnan() and isinf() work). false: vkgrad removed
  /// the declaration (the device lacks shaderSignedZeroInfNanPreserveFloat32, or preservation was
  /// turned off) and NaN / inf handling is as good as the driver makes it.
  bool preserve_inf_nan = false;
  /// Why, e.g. "SignedZeroInfNanPreserve (device supports it)", "not guaranteed: device lacks
  /// shaderSignedZeroInfNanPreserveFloat32".
  std::string preserve_inf_nan_reason;
  /// On MoltenVK, how Metal's fast math (which assumes no NaN or inf) is configured; empty on other
  /// drivers.
  std::string fast_math;
};

/// What vkgrad knows about one Vulkan physical device.
struct DeviceInfo {
  uint32_t index = 0;  ///< position in the loader's enumeration (what VKGRAD_DEVICE=N picks)
  std::string name;    ///< e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"
  /// Integrated, discrete, virtual GPU, CPU or other: ranks the devices for the default choice.
  DeviceType type = DeviceType::other;
  std::string driver_name;  ///< VkPhysicalDeviceDriverProperties::driverName (empty if unknown)
  std::string driver_info;  ///< VkPhysicalDeviceDriverProperties::driverInfo (empty if unknown)
  /// VkPhysicalDeviceProperties::vendorID (PCI vendor ID for PCI devices, e.g. 0x10de NVIDIA).
  uint32_t vendor_id = 0;
  /// VkPhysicalDeviceProperties::deviceID (vendor-specific).
  uint32_t device_id = 0;
  uint32_t api_version = 0;  ///< VK_MAKE_API_VERSION encoded
  /// VkPhysicalDeviceProperties::driverVersion, encoded as the vendor chooses (part of the
  /// pipeline-cache file name, so a driver update starts a fresh cache).
  uint32_t driver_version = 0;
  uint32_t subgroup_size = 0;        ///< 0 when the device does not report subgroup properties
  bool subgroup_arithmetic = false;  ///< subgroupAdd etc. available in compute shaders
  bool subgroup_ballot = false;      ///< subgroupBroadcast etc. available in compute shaders
  bool shader_float16 = false;       ///< shaderFloat16 (f16 arithmetic in shaders); not used by vkgrad yet
  bool cooperative_matrix = false;   ///< VK_KHR_cooperative_matrix is exposed; not used by vkgrad yet
  /// shaderSignedZeroInfNanPreserveFloat32 (Vulkan 1.2 or VK_KHR_shader_float_controls): shaders may
  /// declare that 32-bit NaN, inf and signed zeros are preserved (see KernelChoice::preserve_inf_nan).
  bool signed_zero_inf_nan_preserve = false;
  /// The device offers VK_KHR_shader_float_controls (what a context enables for the declaration
  /// where the instance or the device is older than Vulkan 1.2).
  bool float_controls_extension = false;
  /// VkPhysicalDeviceDriverProperties::driverID (VkDriverId; 0 if unknown), e.g. 14 for MoltenVK.
  uint32_t driver_id = 0;
  uint32_t max_shared_memory = 0;  ///< maxComputeSharedMemorySize, bytes
  /// maxStorageBufferRange, bytes: the largest tensor the device can bind (Tensor's constructor
  /// throws UnsupportedError above it).
  uint64_t max_storage_buffer_range = 0;
  uint32_t max_texel_buffer_elements = 0;  ///< maxTexelBufferElements (texels of one buffer view)
  /// minStorageBufferOffsetAlignment, bytes: where a tensor over an application's buffer may start
  /// (Tensor::wrap).
  uint64_t min_storage_buffer_offset_alignment = 0;
  /// minTexelBufferOffsetAlignment, bytes: where a wrapped tensor must start to be read through a
  /// texel buffer.
  uint64_t min_texel_buffer_offset_alignment = 0;
  bool shader_int64 = false;  ///< 64-bit integers in shaders (shaderInt64)
  /// R32G32B32A32_SFLOAT can be read as a uniform texel buffer (what texel-buffer loads need).
  bool texel_buffer_rgba32f = false;
  /// R16G16B16A16_SFLOAT can be read as a uniform texel buffer (texel-buffer loads of f16 tensors;
  /// without it gemm reads f16 through storage buffers).
  bool texel_buffer_rgba16f = false;
  /// R32G32B32A32_UINT can be read as a uniform texel buffer (cast's texel loads of raw bits).
  bool texel_buffer_rgba32ui = false;
  /// maxComputeWorkGroupCount: workgroups per dispatch in x, y, z.
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  /// maxComputeWorkGroupSize: invocations per workgroup in x, y, z.
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  /// maxComputeWorkGroupInvocations: invocations per workgroup in total.
  uint32_t max_workgroup_invocations = 0;
  /// maxPushConstantsSize, bytes.
  uint32_t max_push_constants = 0;
  /// maxPerStageDescriptorStorageBuffers: storage buffers one compute pipeline may bind.
  uint32_t max_storage_buffers_per_stage = 0;
  /// maxPerStageDescriptorSampledImages: uniform texel buffers one compute pipeline may bind.
  uint32_t max_texel_buffers_per_stage = 0;
  bool timestamps = false;          ///< the compute queue supports timestamp queries
  float timestamp_period_ns = 0;    ///< nanoseconds per timestamp tick
  uint64_t device_local_bytes = 0;  ///< size of the largest device-local heap
  bool unified_memory = false;      ///< device-local memory is host-visible (integrated GPU, CPU)
  bool usable = false;              ///< Vulkan >= 1.1 and a compute queue: vkgrad can run on it
  std::string unusable_reason;      ///< why not, when !usable
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
  /// Where the pipeline cache lives. Empty: VKGRAD_CACHE_DIR, else the user's cache directory:
  /// vkgrad under %LOCALAPPDATA% on Windows, ~/Library/Caches/vkgrad on macOS, $XDG_CACHE_HOME/vkgrad
  /// else ~/.cache/vkgrad elsewhere.
  std::filesystem::path cache_dir;
  /// Keep tensors in host-visible memory and transfer by memcpy. Unset: only on unified-memory
  /// devices (integrated GPUs, CPUs). false forces the staging-buffer path everywhere.
  std::optional<bool> mapped_tensors;
  /// The kernel set (see KernelSet). Unset: VKGRAD_KERNELS (auto, gpu or cpu), else automatic.
  std::optional<KernelSet> kernels;
  /// Finer overrides of the kernel set's choices, for tests and benchmarks that run one path on any
  /// device. Unset: what the kernel set implies. Results are the same whichever is chosen, within
  /// each op's tolerance.
  ///@{
  /// Reductions with subgroup operations (only where the device supports subgroup arithmetic in
  /// compute shaders). Kernel set default: on for gpu, off for cpu.
  std::optional<bool> subgroup_reductions;
  /// Elementwise ops and GEMM read their inputs through uniform texel buffers and write 64-bit
  /// words (needs shaderInt64 and R32G32B32A32_SFLOAT texel buffers). Kernel set default: on for
  /// cpu, off for gpu.
  std::optional<bool> texel_loads;
  /// The GEMM main loop. Kernel set default: tiled for gpu, broadcast for cpu.
  std::optional<GemmPath> gemm_path;
  /// The row-reduction layout. Kernel set default: workgroup for gpu, per_invocation for cpu.
  std::optional<RowReductions> row_reductions;
  ///@}
  /// Keep the SignedZeroInfNanPreserve declaration of the shader modules where the device supports
  /// it (KernelChoice::preserve_inf_nan); false removes it everywhere, as on a device without the
  /// property (so that a test can run that path on any device). Unset: VKGRAD_PRESERVE_INF_NAN (0
  /// turns it off), else on. Also decides whether vkgrad turns MoltenVK's fast math off.
  std::optional<bool> preserve_inf_nan;
  /// Most bytes of device memory vkgrad may reserve from the driver (tensor blocks and staging
  /// buffers together); an allocation beyond it throws OutOfMemoryError. Unset: VKGRAD_MEMORY_LIMIT
  /// (bytes, or with a K/M/G/T suffix: "512M", "2G"), else no limit; 0 means no limit.
  std::optional<uint64_t> memory_limit;
  /// Called (from any thread) for every validation warning or error, besides it being recorded.
  /// Unset: each message is printed to stderr.
  std::function<void(std::string_view)> on_validation_message;

  /// Set the field of the same name and return *this, for chaining.
  ///@{
  ContextOptions& set_device(std::string d) {
    device = std::move(d);
    return *this;
  }
  ContextOptions& set_validation(bool on) {
    validation = on;
    return *this;
  }
  ContextOptions& set_pipeline_cache(bool on) {
    pipeline_cache = on;
    return *this;
  }
  ContextOptions& set_mapped_tensors(bool on) {
    mapped_tensors = on;
    return *this;
  }
  ContextOptions& set_kernels(KernelSet k) {
    kernels = k;
    return *this;
  }
  ContextOptions& set_subgroup_reductions(bool on) {
    subgroup_reductions = on;
    return *this;
  }
  ContextOptions& set_gemm_path(GemmPath p) {
    gemm_path = p;
    return *this;
  }
  ContextOptions& set_row_reductions(RowReductions r) {
    row_reductions = r;
    return *this;
  }
  ContextOptions& set_texel_loads(bool on) {
    texel_loads = on;
    return *this;
  }
  ContextOptions& set_preserve_inf_nan(bool on) {
    preserve_inf_nan = on;
    return *this;
  }
  ContextOptions& set_memory_limit(uint64_t bytes) {
    memory_limit = bytes;
    return *this;
  }
  ContextOptions& set_cache_dir(std::filesystem::path dir) {
    cache_dir = std::move(dir);
    return *this;
  }
  ///@}
};

/// A Vulkan device ready for compute. Move-only. Tensors and command lists created from it keep the
/// underlying device alive, so destroying the Context object before them is safe.
///
/// Thread safety: a Context may be used from several threads at once (tensor creation, pipeline
/// creation and queue submission are internally synchronized). A single Tensor or CommandList must
/// not be used from two threads at the same time.
class Context {
 public:
  /// Opens the Vulkan loader, creates the instance, picks the device (ContextOptions::device) and
  /// creates the logical device and its compute queue. Throws SetupError, with what to install or
  /// set, when there is no loader, no driver, no (usable or matching) device, or no validation
  /// layer although validation was requested; DeviceError when a Vulkan call fails.
  explicit Context(const ContextOptions& options = {});
  /// A context on the application's device and queue (include vkgrad/interop.hpp), which it does
  /// not own: it creates its memory, pipelines and pools there and destroys only those. The options
  /// apply as above, except device (the device is given) and validation, which reports the messages
  /// of the application's instance (see ExternalDevice). Throws InvalidArgument
  /// for a null handle, a physical device not of the instance, a queue family or index that does not
  /// exist or a family without compute; SetupError for a device or instance older than Vulkan 1.1 or
  /// an extension vkgrad needs that is not enabled (see ExternalDevice). The application's objects
  /// must outlive every tensor and command list of the context.
  Context(const ExternalDevice& device, const ContextOptions& options = {});
  /// Releases this handle; the device itself lives on while tensors or command lists created from
  /// it exist. The last owner waits for the device to finish and saves the pipeline cache.
  ~Context();
  /// Takes over the device; the moved-from Context may only be destroyed or assigned to (anything
  /// else, creating tensors or command lists on it included, throws InvalidArgument).
  Context(Context&&) noexcept;
  /// Releases this handle (as the destructor) and takes over the other's device.
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// The chosen device.
  const DeviceInfo& device() const;
  /// Whether the Khronos validation layer is on (ContextOptions::validation, VKGRAD_VALIDATION).
  bool validation_enabled() const;
  /// Validation messages (warnings and errors) received so far.
  std::vector<std::string> validation_messages() const;
  /// validation_messages().size(), without copying the messages.
  std::size_t validation_message_count() const;
  /// Forgets the messages received so far (the count starts again from 0).
  void clear_validation_messages();
  /// The pipeline-cache file, or empty when the cache is disabled.
  std::filesystem::path pipeline_cache_path() const;
  /// The kernel set in use and what it implies (ContextOptions::kernels, VKGRAD_KERNELS).
  const KernelChoice& kernels() const;
  /// Whether reductions use subgroup operations (see ContextOptions::subgroup_reductions).
  bool subgroup_reductions() const;
  /// Whether elementwise ops and GEMM read through texel buffers (see ContextOptions::texel_loads).
  bool texel_loads() const;
  /// Bytes of device memory currently held by live tensors.
  uint64_t allocated_bytes() const;
  /// Bytes of device memory reserved from the driver (blocks the allocator sub-allocates from).
  uint64_t reserved_bytes() const;
  /// The memory limit in force (ContextOptions::memory_limit), 0 when there is none.
  uint64_t memory_limit() const;
  /// Blocks until the device has finished all submitted work (on a context over an application's
  /// device: all work submitted to its queue, the application's included).
  void wait_idle();
  /// Whether the device was lost (DeviceLostError). A lost context stays lost: every later call
  /// that uses the device throws DeviceLostError; destroying its objects is still safe.
  bool lost() const;

  /// The implementation, for vkgrad's own code (lib/); not part of the stable API. Every member
  /// reaches the device through it: InvalidArgument on a moved-from Context.
  detail::ContextImpl& impl() const;
  /// The shared implementation that tensors and command lists hold on to; not part of the stable
  /// API. InvalidArgument on a moved-from Context.
  const std::shared_ptr<detail::ContextImpl>& shared_impl() const;

 private:
  std::shared_ptr<detail::ContextImpl> impl_;
};

}  // namespace vkgrad
