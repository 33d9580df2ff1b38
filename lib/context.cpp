#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#include "context_impl.hpp"
#include "cpu_kernels.hpp"
#include "device_select.hpp"
#include "errors.hpp"
#include "gemm_tiles.hpp"
#include "platform.hpp"

namespace vkgrad {

const char* to_string(DeviceType type) {
  switch (type) {
    case DeviceType::discrete_gpu: return "discrete GPU";
    case DeviceType::integrated_gpu: return "integrated GPU";
    case DeviceType::virtual_gpu: return "virtual GPU";
    case DeviceType::cpu: return "CPU";
    default: return "other";
  }
}

const char* to_string(KernelSet set) {
  switch (set) {
    case KernelSet::gpu: return "gpu";
    case KernelSet::cpu: return "cpu";
    default: return "auto";
  }
}

const char* to_string(GemmPath path) {
  switch (path) {
    case GemmPath::tiled: return "tiled";
    case GemmPath::direct: return "direct";
    default: return "broadcast";
  }
}

const char* to_string(RowReductions layout) {
  return layout == RowReductions::workgroup ? "workgroup" : "per_invocation";
}

namespace detail {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_flag(const char* name, bool fallback) {
  const std::string v = env(name);
  if (v.empty()) return fallback;
  return !(v == "0" || v == "false" || v == "off" || v == "no");
}

// Whether NaN / inf preservation is wanted (ContextOptions::preserve_inf_nan, else
// VKGRAD_PRESERVE_INF_NAN, else yes), and what turned it off.
std::pair<bool, std::string> inf_nan_request(const ContextOptions& options) {
  if (options.preserve_inf_nan) return {*options.preserve_inf_nan, "ContextOptions::preserve_inf_nan = false"};
  return {env_flag("VKGRAD_PRESERVE_INF_NAN", true), "VKGRAD_PRESERVE_INF_NAN=" + env("VKGRAD_PRESERVE_INF_NAN")};
}

}  // namespace

KernelChoice resolve_kernels(const ContextOptions& options, const DeviceInfo& info, uint32_t instance_api_version) {
  KernelChoice k;
  KernelSet set = KernelSet::automatic;
  if (options.kernels) {
    set = *options.kernels;
    k.reason = std::string("ContextOptions::kernels = ") + to_string(set);
  } else if (const char* v = std::getenv("VKGRAD_KERNELS"); v && *v) {
    const std::string value = v;
    if (value == "gpu") {
      set = KernelSet::gpu;
    } else if (value == "cpu") {
      set = KernelSet::cpu;
    } else if (value != "auto") {
      throw SetupError("vkgrad: VKGRAD_KERNELS=" + value + " is not a kernel set: use auto, gpu or cpu (or unset it)");
    }
    k.reason = "VKGRAD_KERNELS=" + value;
  }
  if (set == KernelSet::automatic) {
    set = info.type == DeviceType::cpu ? KernelSet::cpu : KernelSet::gpu;
    k.reason = (k.reason.empty() ? std::string("auto") : k.reason) + ": " + info.name + " is " +
               (info.type == DeviceType::cpu ? "a CPU device" : std::string("a ") + to_string(info.type) + " device");
  }
  k.set = set;
  const bool cpu = set == KernelSet::cpu;
  // Texel loads need 64-bit stores (shaderInt64) and R32G32B32A32_SFLOAT texel buffers.
  const bool texel_capable = info.shader_int64 && info.texel_buffer_rgba32f && info.max_texel_buffer_elements > 0;
  k.texel_loads = texel_capable && options.texel_loads.value_or(cpu);
  k.subgroup_reductions = info.subgroup_arithmetic && options.subgroup_reductions.value_or(!cpu);
  k.gemm_path = options.gemm_path.value_or(cpu ? GemmPath::broadcast : GemmPath::tiled);
  if (k.gemm_path == GemmPath::broadcast && !gemm_broadcast_supported(info)) k.gemm_path = GemmPath::direct;
  k.row_reductions = options.row_reductions.value_or(cpu ? RowReductions::per_invocation : RowReductions::workgroup);
  // The modules declare SignedZeroInfNanPreserve; they keep it where the device has the property and
  // the capability can be enabled (Vulkan 1.2 on both instance and device, else the extension).
  const auto [wanted, turned_off_by] = inf_nan_request(options);
  const bool core = std::min(instance_api_version, info.api_version) >= VK_API_VERSION_1_2;
  k.preserve_inf_nan = false;
  if (!wanted) {
    k.preserve_inf_nan_reason = "not guaranteed: turned off by " + turned_off_by;
  } else if (!info.signed_zero_inf_nan_preserve) {
    k.preserve_inf_nan_reason = "not guaranteed: device lacks shaderSignedZeroInfNanPreserveFloat32";
  } else if (!core && !info.float_controls_extension) {
    k.preserve_inf_nan_reason =
        "not guaranteed: the Vulkan loader is older than 1.2 and the device lacks VK_KHR_shader_float_controls";
  } else {
    k.preserve_inf_nan = true;
    k.preserve_inf_nan_reason = "SignedZeroInfNanPreserve (device supports it)";
  }
  return k;
}

namespace {

// "536870912", "512M", "512MiB", "2G", "1.5G" (binary units; K, M, G, T, optionally followed by
// "iB" or "B"). Throws SetupError naming `source` when the text is none of these.
uint64_t parse_bytes(const std::string& text, const char* source) {
  const auto fail = [&]() -> uint64_t {
    throw SetupError(std::string("vkgrad: ") + source + "='" + text +
                     "' is not a size: give bytes or a number with a K, M, G or T suffix (\"512M\", \"2G\"); "
                     "0 means no limit");
  };
  std::size_t i = 0;
  double value = 0, scale = 1;
  bool digits = false;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, digits = true) {
    value = value * 10 + (text[i] - '0');
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, digits = true) {
      scale /= 10;
      value += (text[i] - '0') * scale;
    }
  }
  if (!digits) return fail();
  const std::string suffix = ascii_lower(text.substr(i));
  const std::pair<const char*, double> units[] = {{"", 1},         {"b", 1},       {"k", 0x1p10},   {"kb", 0x1p10},
                                                  {"kib", 0x1p10}, {"m", 0x1p20},  {"mb", 0x1p20},  {"mib", 0x1p20},
                                                  {"g", 0x1p30},   {"gb", 0x1p30}, {"gib", 0x1p30}, {"t", 0x1p40},
                                                  {"tb", 0x1p40},  {"tib", 0x1p40}};
  for (const auto& [name, factor] : units) {
    if (suffix == name) {
      if (value * factor >= 0x1p64) return fail();
      return static_cast<uint64_t>(value * factor);
    }
  }
  return fail();
}

// KernelChoice::fast_math on MoltenVK: whether vkgrad turned Metal's fast math off, or what the
// environment says.
std::string moltenvk_fast_math(bool set_by_vkgrad, bool preserve_inf_nan) {
  if (set_by_vkgrad) return "off (MVK_CONFIG_FAST_MATH_ENABLED = 0 through VK_EXT_layer_settings)";
  const std::string value = env("MVK_CONFIG_FAST_MATH_ENABLED");
  if (value == "0") return "off (MVK_CONFIG_FAST_MATH_ENABLED=0)";
  if (!preserve_inf_nan) return "as MoltenVK is configured (NaN/inf preservation is off)";
  return "may be on (MVK_CONFIG_FAST_MATH_ENABLED=" + (value.empty() ? std::string("unset") : value) +
         ", and the loader lacks VK_EXT_layer_settings): set MVK_CONFIG_FAST_MATH_ENABLED=0 to keep NaN and inf";
}

std::filesystem::path cache_directory(const ContextOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (auto d = env("VKGRAD_CACHE_DIR"); !d.empty()) return d;
  return platform::user_cache_directory("vkgrad");
}

}  // namespace

uint64_t memory_limit_option(const ContextOptions& options) {
  if (options.memory_limit) return *options.memory_limit;
  const std::string v = env("VKGRAD_MEMORY_LIMIT");
  return v.empty() ? 0 : parse_bytes(v, "VKGRAD_MEMORY_LIMIT");
}

bool validation_requested(const ContextOptions& options) {
  return options.validation.value_or(env_flag("VKGRAD_VALIDATION", false));
}

ContextImpl::ContextImpl(const ContextOptions& options) : loader(open_loader()) {
  // A malformed VKGRAD_MEMORY_LIMIT fails before any Vulkan work.
  const uint64_t limit = memory_limit_option(options);
  validation = validation_requested(options);
  message_callback = options.on_validation_message;
  auto setup = create_instance(loader, validation, this, inf_nan_request(options).first);
  instance = std::move(setup.instance);
  if (validation) create_messenger();

  vk::raii::PhysicalDevices physical_devices(instance);
  std::vector<DeviceInfo> infos;
  for (uint32_t i = 0; i < physical_devices.size(); ++i) infos.push_back(describe(physical_devices[i], i));
  const std::string request = options.device.empty() ? env("VKGRAD_DEVICE") : options.device;
  const uint32_t chosen = select_device(infos, request);
  physical = std::move(physical_devices[chosen]);
  info = infos[chosen];
  queue_family = *compute_family(physical);

  kernels = resolve_kernels(options, info, setup.api_version);
  if (info.driver_id == static_cast<uint32_t>(vk::DriverId::eMoltenvk)) {
    kernels.fast_math = moltenvk_fast_math(setup.fast_math_setting, kernels.preserve_inf_nan);
  }

  std::vector<const char*> device_extensions;
  if (has_device_extension(physical, "VK_KHR_portability_subset"))
    device_extensions.push_back("VK_KHR_portability_subset");
  // The modules' SignedZeroInfNanPreserve capability: core in Vulkan 1.2, else the extension.
  if (kernels.preserve_inf_nan && std::min(setup.api_version, info.api_version) < VK_API_VERSION_1_2) {
    device_extensions.push_back(VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME);
  }
  const float priority = 1.0f;
  vk::DeviceQueueCreateInfo queue_info({}, queue_family, 1, &priority);
  // shaderInt64 only for the texel-load shader variants (their 64-bit stores), where it is there.
  vk::PhysicalDeviceFeatures features;
  features.shaderInt64 = info.shader_int64 ? VK_TRUE : VK_FALSE;
  device = vk_call("creating the Vulkan device on " + info.name, [&] {
    return vk::raii::Device(physical, vk::DeviceCreateInfo({}, queue_info, {}, device_extensions, &features));
  });
  queue = device.getQueue(queue_family, 0);
  create_resources(options, limit);
}

void ContextImpl::create_resources(const ContextOptions& options, uint64_t limit) {
  // Mapped tensors need unified memory; asking for them elsewhere falls back to staging.
  allocator = std::make_unique<MemoryAllocator>(device, physical,
                                                info.unified_memory && options.mapped_tensors.value_or(true), limit);
  std::filesystem::path cache_file;
  if (options.pipeline_cache.value_or(env_flag("VKGRAD_PIPELINE_CACHE", true))) {
    const auto dir = cache_directory(options);
    if (!dir.empty()) {
      char name[96];
      std::snprintf(name, sizeof name, "pipelines-%04x-%04x-%08x.bin", info.vendor_id, info.device_id,
                    info.driver_version);
      cache_file = dir / name;
    }
  }
  pipelines = std::make_unique<PipelineCache>(*this, cache_file);
  transfer_pool = device.createCommandPool(vk::CommandPoolCreateInfo(
      vk::CommandPoolCreateFlagBits::eResetCommandBuffer | vk::CommandPoolCreateFlagBits::eTransient, queue_family));
  transfer_fence = device.createFence({});
}

ContextImpl::~ContextImpl() {
  // Even after a device loss: Vulkan guarantees the wait returns, and no work may still be running
  // when the handles are destroyed.
  try {
    with_queue([&] { (void)queue.getDispatcher()->vkQueueWaitIdle(static_cast<VkQueue>(*queue)); });
  } catch (...) {
    // The application's queue_access failed: nothing more can be done here.
  }
  if (!lost) pipelines->save();
  staging_buffer.reset();
}

void ContextImpl::check_usable() const {
  if (lost) {
    throw DeviceLostError("vkgrad: the device (" + info.name +
                              ") was lost earlier; this context is unusable. Create a new vkgrad::Context.",
                          static_cast<int>(vk::Result::eErrorDeviceLost));
  }
}

namespace {
// The result an injected fault gives the submission now being made, or eSuccess. Called with the
// queue lock held.
vk::Result take_fault(ContextImpl& c) {
  if (c.fault == Fault::none) return vk::Result::eSuccess;
  if (c.fault_after > 0) {
    --c.fault_after;
    return vk::Result::eSuccess;
  }
  const Fault f = std::exchange(c.fault, Fault::none);
  switch (f) {
    case Fault::submit_error: return c.fault_result;
    case Fault::device_lost_on_submit: return vk::Result::eErrorDeviceLost;
    case Fault::device_lost_on_wait: c.lose_on_wait = true; return vk::Result::eSuccess;
    case Fault::none: break;
  }
  return vk::Result::eSuccess;
}
}  // namespace

void inject_fault(ContextImpl& context, Fault fault, vk::Result result, uint32_t after) {
  std::lock_guard lock(context.queue_mutex);
  context.fault = fault;
  context.fault_result = result;
  context.fault_after = after;
  if (fault == Fault::none) context.lose_on_wait = false;
}

void ContextImpl::with_queue(const std::function<void()>& use) {
  std::lock_guard lock(queue_mutex);
  if (queue_access) {
    queue_access(use);
  } else {
    use();
  }
}

void ContextImpl::submit(vk::CommandBuffer cb, vk::Fence fence, const SubmitSync* sync) {
  check_usable();
  vk::SubmitInfo submit_info({}, {}, cb);
  SemaphoreSubmission semaphores;
  if (sync) semaphores.attach(submit_info, *sync);
  vk::Result result = vk::Result::eSuccess;
  with_queue([&] {
    result = take_fault(*this);
    const auto* dispatcher = queue.getDispatcher();
    if (result == vk::Result::eSuccess) {
      result = static_cast<vk::Result>(dispatcher->vkQueueSubmit(
          static_cast<VkQueue>(*queue), 1, reinterpret_cast<const VkSubmitInfo*>(&submit_info), fence));
    }
    // An empty submission signals the application's fence once everything before it has completed.
    if (result == vk::Result::eSuccess && sync && sync->fence != 0) {
      result = static_cast<vk::Result>(
          dispatcher->vkQueueSubmit(static_cast<VkQueue>(*queue), 0, nullptr, vk_handle_cast<VkFence>(sync->fence)));
    }
  });
  if (result == vk::Result::eSuccess) return;
  if (result == vk::Result::eErrorDeviceLost) lost = true;
  throw_vulkan_error(result, "submitting work to " + info.name);
}

void ContextImpl::wait(vk::Fence fence) {
  check_usable();
  const auto result =
      lose_on_wait.exchange(false)
          ? vk::Result::eErrorDeviceLost
          : static_cast<vk::Result>(device.getDispatcher()->vkWaitForFences(
                static_cast<VkDevice>(*device), 1, reinterpret_cast<const VkFence*>(&fence), VK_TRUE, UINT64_MAX));
  if (result == vk::Result::eSuccess) return;
  if (result == vk::Result::eErrorDeviceLost) lost = true;
  throw_vulkan_error(result, "waiting for " + info.name);
}

void ContextImpl::wait_queue_idle() {
  check_usable();
  vk::Result result = vk::Result::eErrorDeviceLost;
  if (!lose_on_wait.exchange(false)) {
    with_queue([&] {
      result = static_cast<vk::Result>(queue.getDispatcher()->vkQueueWaitIdle(static_cast<VkQueue>(*queue)));
    });
  }
  if (result == vk::Result::eSuccess) return;
  if (result == vk::Result::eErrorDeviceLost) lost = true;
  throw_vulkan_error(result, "waiting for " + info.name);
}

void ContextImpl::wait_unchecked(vk::Fence fence) noexcept {
  (void)device.getDispatcher()->vkWaitForFences(static_cast<VkDevice>(*device), 1,
                                                reinterpret_cast<const VkFence*>(&fence), VK_TRUE, UINT64_MAX);
}

void ContextImpl::run_once(const std::function<void(vk::raii::CommandBuffer&)>& record) {
  // Caller holds transfer_mutex.
  check_usable();
  vk::raii::CommandBuffers cbs(device,
                               vk::CommandBufferAllocateInfo(*transfer_pool, vk::CommandBufferLevel::ePrimary, 1));
  vk::raii::CommandBuffer& cb = cbs[0];
  cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
  // Order against earlier submissions and make the results visible to the host.
  const vk::MemoryBarrier before(vk::AccessFlagBits::eMemoryWrite,
                                 vk::AccessFlagBits::eMemoryRead | vk::AccessFlagBits::eMemoryWrite);
  cb.pipelineBarrier(vk::PipelineStageFlagBits::eAllCommands | vk::PipelineStageFlagBits::eHost,
                     vk::PipelineStageFlagBits::eAllCommands, {}, before, {}, {});
  record(cb);
  const vk::MemoryBarrier after(vk::AccessFlagBits::eMemoryWrite, vk::AccessFlagBits::eHostRead);
  cb.pipelineBarrier(vk::PipelineStageFlagBits::eAllCommands, vk::PipelineStageFlagBits::eHost, {}, after, {}, {});
  cb.end();
  device.resetFences(*transfer_fence);
  submit(*cb, *transfer_fence);
  try {
    wait(*transfer_fence);
  } catch (...) {
    wait_unchecked(*transfer_fence);  // `cb` must not be freed while it may still run
    throw;
  }
}

Buffer& ContextImpl::staging(vk::DeviceSize bytes) {
  if (!staging_buffer || staging_buffer->size < bytes) {
    staging_buffer.reset();
    // The context owns its staging buffer, so the buffer must not own the context: that was a
    // cycle keeping the device and all its memory alive until exit. A non-owning pointer is safe:
    // ~ContextImpl releases the buffer before the allocator and the device go.
    staging_buffer = std::make_shared<Buffer>(std::shared_ptr<ContextImpl>(std::shared_ptr<ContextImpl>(), this), bytes,
                                              MemoryUsage::staging);
  }
  return *staging_buffer;
}

void ContextImpl::on_validation_message(std::string message) {
  if (message_callback) {
    message_callback(message);
  } else {
    std::fprintf(stderr, "vkgrad: %s\n", message.c_str());
  }
  std::lock_guard lock(messages_mutex);
  messages.push_back(std::move(message));
}

uint32_t default_local_size(const DeviceInfo& info) {
  return std::min<uint32_t>({kMaxLocalSize, info.max_workgroup_invocations, info.max_workgroup_size[0]});
}

uint32_t max_workgroups(const DeviceInfo& info, int dim) {
  return std::max<uint32_t>(1, std::min<uint32_t>(info.max_workgroup_count[dim], 65535));
}

uint32_t capped_workgroups(const DeviceInfo& info, int dim, uint64_t groups) {
  return static_cast<uint32_t>(std::clamp<uint64_t>(groups, 1, max_workgroups(info, dim)));
}

uint32_t grid_stride_groups(const ContextImpl& context, uint64_t n, uint32_t local, uint32_t cpu_steps) {
  // Enough groups to cover n once, capped so a huge tensor loops instead of exceeding the device's
  // workgroup-count limit.
  uint64_t groups = (n + local - 1) / local;
  if (context.kernels.set == KernelSet::cpu) groups = cpu::grid_groups(groups, cpu_steps);
  return capped_workgroups(context.info, 0, groups);
}

}  // namespace detail

std::vector<DeviceInfo> list_devices() {
  auto loader = detail::open_loader();
  auto setup = detail::create_instance(loader, false, nullptr, false);
  vk::raii::PhysicalDevices physical_devices(setup.instance);
  std::vector<DeviceInfo> out;
  for (uint32_t i = 0; i < physical_devices.size(); ++i) out.push_back(detail::describe(physical_devices[i], i));
  return out;
}

Context::Context(const ContextOptions& options) : impl_(std::make_shared<detail::ContextImpl>(options)) {
  impl_->self = impl_;
}
Context::Context(const ExternalDevice& device, const ContextOptions& options)
    : impl_(std::make_shared<detail::ContextImpl>(device, options)) {
  impl_->self = impl_;
}
Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

detail::ContextImpl& Context::impl() const { return *shared_impl(); }
const std::shared_ptr<detail::ContextImpl>& Context::shared_impl() const {
  if (!impl_) detail::fail_moved_from("Context");
  return impl_;
}

const DeviceInfo& Context::device() const { return impl().info; }
bool Context::validation_enabled() const { return impl().validation; }
const KernelChoice& Context::kernels() const { return impl().kernels; }
bool Context::subgroup_reductions() const { return impl().kernels.subgroup_reductions; }
std::vector<std::string> Context::validation_messages() const {
  detail::ContextImpl& c = impl();
  std::lock_guard lock(c.messages_mutex);
  return c.messages;
}
std::size_t Context::validation_message_count() const {
  detail::ContextImpl& c = impl();
  std::lock_guard lock(c.messages_mutex);
  return c.messages.size();
}
void Context::clear_validation_messages() {
  detail::ContextImpl& c = impl();
  std::lock_guard lock(c.messages_mutex);
  c.messages.clear();
}
std::filesystem::path Context::pipeline_cache_path() const { return impl().pipelines->file(); }
bool Context::texel_loads() const { return impl().kernels.texel_loads; }
uint64_t Context::allocated_bytes() const { return impl().allocator->allocated_bytes(); }
uint64_t Context::reserved_bytes() const { return impl().allocator->reserved_bytes(); }
uint64_t Context::memory_limit() const { return impl().allocator->limit(); }
void Context::wait_idle() { impl().wait_queue_idle(); }
bool Context::lost() const { return impl().lost; }

}  // namespace vkgrad
