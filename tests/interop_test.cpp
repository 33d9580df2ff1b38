// vkgrad inside an application's Vulkan program (include/vkgrad/interop.hpp): a context over the
// application's device computes what vkgrad's own computes; tensors over the application's buffers
// give the results of vkgrad's own tensors and touch nothing outside their ranges; command lists
// ordered with the application's compute work by semaphores and fences, or recorded into its command
// buffers, are race-free under synchronization validation; the application's objects outlive the
// context; misuse is refused with a message saying what to do.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <limits>

#include "harness.hpp"
#include "interop_app.hpp"
#include "memory.hpp"

using namespace vkgrad;
using vkgrad::test::App;
using vkgrad::test::AppOptions;

namespace {

constexpr uint32_t kAllUsage =
    buffer_usage::storage | buffer_usage::transfer_src | buffer_usage::transfer_dst | buffer_usage::uniform_texel;
constexpr uint32_t kStorageUsage = buffer_usage::storage | buffer_usage::transfer_src | buffer_usage::transfer_dst;

// Makes a tensor of `shape` holding `data` (or the poison NaN when empty).
using MakeTensor = std::function<Tensor(Shape, const std::vector<float>&)>;

std::vector<float> or_poison(Shape shape, const std::vector<float>& data) {
  return data.empty() ? std::vector<float>(shape.numel(), test::poison) : data;
}

MakeTensor owned_tensors(Context& ctx) {
  return
      [&ctx](Shape shape, const std::vector<float>& data) { return Tensor::from(ctx, shape, or_poison(shape, data)); };
}

// Tensors over consecutive ranges of one application buffer, each range followed by a gap; every
// byte outside the ranges holds a sentinel, which sentinels_intact() checks afterwards.
class Arena {
 public:
  static constexpr float sentinel = 12345.5f;
  // texel_usage: the buffer has uniform-texel usage and each range is padded to whole 16-byte texels
  // (so the texel-load kernels may read it); else storage usage only and ranges of exactly the data.
  Arena(App& app, Context& ctx, uint64_t bytes, bool texel_usage)
      : ctx_(ctx), buffer_(app.make_buffer(bytes, texel_usage ? kAllUsage : kStorageUsage)), texel_(texel_usage) {
    std::fill(buffer_.data, buffer_.data + bytes / 4, sentinel);
    const DeviceInfo& d = ctx.device();
    alignment_ = std::max<uint64_t>({16, d.min_storage_buffer_offset_alignment, d.min_texel_buffer_offset_alignment});
  }
  Tensor make(Shape shape, const std::vector<float>& data) {
    const std::vector<float> values = or_poison(shape, data);
    next_ = (next_ + alignment_ - 1) / alignment_ * alignment_;
    const uint64_t bytes = values.size() * 4;
    const uint64_t size = texel_ ? (bytes + 15) / 16 * 16 : bytes;
    REQUIRE(next_ + size + 16 <= buffer_.bytes);
    std::memcpy(reinterpret_cast<std::byte*>(buffer_.data) + next_, values.data(), bytes);
    ranges_.emplace_back(next_, size);
    Tensor t = Tensor::wrap(ctx_, buffer_.range(next_, size), shape);
    next_ += size + 16;  // a sentinel gap after every range
    return t;
  }
  // A tensor of `dtype` whose range is its data rounded up to 4 bytes (or to 16 with texel usage),
  // contents unspecified.
  Tensor make_typed(Shape shape, DType dtype) {
    next_ = (next_ + alignment_ - 1) / alignment_ * alignment_;
    const uint64_t bytes = shape.numel() * dtype_size(dtype);
    const uint64_t size = texel_ ? (bytes + 15) / 16 * 16 : (bytes + 3) / 4 * 4;
    REQUIRE(next_ + size + 16 <= buffer_.bytes);
    ranges_.emplace_back(next_, size);
    Tensor t = Tensor::wrap(ctx_, buffer_.range(next_, size), shape, dtype);
    next_ += size + 16;
    return t;
  }
  MakeTensor maker() {
    return [this](Shape shape, const std::vector<float>& data) { return make(shape, data); };
  }
  // Every float outside the ranges still holds the sentinel (read after the work has completed).
  bool sentinels_intact() const {
    std::vector<bool> inside(buffer_.bytes / 4, false);
    for (const auto& [offset, size] : ranges_) std::fill_n(inside.begin() + offset / 4, size / 4, true);
    for (std::size_t i = 0; i < inside.size(); ++i) {
      if (!inside[i] && std::memcmp(&buffer_.data[i], &sentinel, 4) != 0) {
        UNSCOPED_INFO("float " << i << " outside every range holds " << buffer_.data[i]);
        return false;
      }
    }
    return true;
  }
  // The floats of the application's buffer at `t` (which must be one of this arena's tensors).
  std::vector<float> host_view(const Tensor& t) const {
    const VulkanBuffer b = t.vulkan_buffer();
    const float* first = buffer_.data + b.offset / 4;
    return {first, first + t.numel()};
  }

 private:
  Context& ctx_;
  App::Buffer buffer_;
  bool texel_;
  uint64_t alignment_ = 16;
  uint64_t next_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

// Three SGD steps of a 13-11-5 tanh MLP on a batch of 7 under MSE, every tensor (inputs, targets,
// parameters, activations, gradients, loss) made by `make`. Returns the three losses followed by the
// last step's output and the trained parameters, each as one vector.
std::vector<std::vector<float>> mlp_steps(Context& ctx, const MakeTensor& make) {
  constexpr uint64_t batch = 7, in = 13, hidden = 11, out = 5;
  Tensor x = make({batch, in}, test::uniform(batch * in, -1, 1, 1));
  Tensor target = make({batch, out}, test::uniform(batch * out, -1, 1, 2));
  Tensor w1 = make({hidden, in}, test::uniform(hidden * in, -0.5f, 0.5f, 3));
  Tensor b1 = make({hidden}, test::uniform(hidden, -0.1f, 0.1f, 4));
  Tensor w2 = make({out, hidden}, test::uniform(out * hidden, -0.5f, 0.5f, 5));
  Tensor b2 = make({out}, test::uniform(out, -0.1f, 0.1f, 6));
  Tensor y1 = make({batch, hidden}, {}), h = make({batch, hidden}, {}), y2 = make({batch, out}, {});
  Tensor loss = make({1}, {}), dy2 = make({batch, out}, {}), dh = make({batch, hidden}, {});
  Tensor dy1 = make({batch, hidden}, {}), dw1 = make({hidden, in}, {}), db1 = make({hidden}, {});
  Tensor dw2 = make({out, hidden}, {}), db2 = make({out}, {});
  Tensor no_dx;
  PointwiseLoss mse(ctx, PointwiseLossKind::mse, batch * out);
  Tensor step = make_step_counter(ctx);
  SgdOptions sgd;
  sgd.lr = 0.1f;
  sgd.momentum = 0.9f;
  SgdState s_w1(ctx, w1), s_b1(ctx, b1), s_w2(ctx, w2), s_b2(ctx, b2);

  CommandList cmd(ctx);
  linear_forward(cmd, x, w1, b1, y1);
  activation_forward(cmd, Activation::tanh, y1, h);
  linear_forward(cmd, h, w2, b2, y2);
  mse.forward(cmd, y2, target, loss);
  mse.backward(cmd, y2, target, dy2);
  linear_backward(cmd, h, w2, dy2, dh, dw2, db2);
  activation_backward(cmd, Activation::tanh, y1, dh, dy1);
  linear_backward(cmd, x, w1, dy1, no_dx, dw1, db1);
  optimizer_advance_step(cmd, step);
  sgd_update(cmd, sgd, w1, dw1, s_w1, step);
  sgd_update(cmd, sgd, b1, db1, s_b1, step);
  sgd_update(cmd, sgd, w2, dw2, s_w2, step);
  sgd_update(cmd, sgd, b2, db2, s_b2, step);
  std::vector<std::vector<float>> results;
  std::vector<float> losses;
  for (int i = 0; i < 3; ++i) {
    cmd.run();
    losses.push_back(loss.to_vector()[0]);
  }
  results.push_back(losses);
  for (const Tensor* t : {&y2, &w1, &b1, &w2, &b2}) results.push_back(t->to_vector());
  return results;
}

// C = A·B for A 37×53 and B 53×29, and gelu over values that include the extremes.
std::vector<std::vector<float>> gemm_and_activation(Context& ctx, const MakeTensor& make) {
  Tensor a = make({37, 53}, test::uniform(37 * 53, -2, 2, 11));
  Tensor b = make({53, 29}, test::uniform(53 * 29, -2, 2, 12));
  Tensor c = make({37, 29}, {});
  std::vector<float> xs = test::uniform(1031, -8, 8, 13);
  const float extremes[] = {0.0f,
                            -0.0f,
                            1e4f,
                            -1e4f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            1e-40f,
                            -1e-40f};
  std::copy(std::begin(extremes), std::end(extremes), xs.begin());
  Tensor x = make({1031}, xs), y = make({1031}, {});
  CommandList cmd(ctx);
  gemm(cmd, a, b, c);
  activation_forward(cmd, Activation::gelu, x, y);
  cmd.run();
  return {c.to_vector(), y.to_vector()};
}

void require_same(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& expected,
                  test::Modules modules) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("result " << i);
    CHECK(test::run_differences(got[i], expected[i], modules) == "");
  }
}

void require_quiet(const App& app, const Context& ctx) {
  for (const auto& m : app.messages()) UNSCOPED_INFO(m);
  CHECK(app.messages().empty());
  CHECK(ctx.validation_message_count() == 0);
}

}  // namespace

TEST_CASE("interop: a context over the application's device computes what vkgrad's own context computes", "[interop]") {
  Context& own = test::context();
  App app;
  Context ext(app.external());
  CHECK(ext.device().name == own.device().name);
  CHECK(ext.validation_enabled() == own.validation_enabled());
  // The application enabled what vkgrad's own context enables, so the same kernels run.
  CHECK(ext.kernels().set == own.kernels().set);
  CHECK(ext.kernels().texel_loads == own.kernels().texel_loads);
  CHECK(ext.kernels().subgroup_reductions == own.kernels().subgroup_reductions);
  CHECK(ext.kernels().gemm_path == own.kernels().gemm_path);
  CHECK(ext.kernels().row_reductions == own.kernels().row_reductions);
  CHECK(ext.kernels().preserve_inf_nan == own.kernels().preserve_inf_nan);

  const auto ext_ops = gemm_and_activation(ext, owned_tensors(ext));
  const auto own_ops = gemm_and_activation(own, owned_tensors(own));
  require_same(ext_ops, own_ops, test::Modules::same);
  // And both are right: the GEMM against a double-precision reference.
  const auto a = test::uniform(37 * 53, -2, 2, 11), b = test::uniform(53 * 29, -2, 2, 12);
  std::vector<double> c(37 * 29, 0.0);
  for (int i = 0; i < 37; ++i)
    for (int j = 0; j < 29; ++j)
      for (int k = 0; k < 53; ++k) c[i * 29 + j] += double(a[i * 53 + k]) * b[k * 29 + j];
  // f32 accumulation: 53 roundings of partial sums of at most 53 products of magnitude up to 4.
  const auto mismatch = test::compare(ext_ops[0], c, 1e-5, 53 * 53 * 4 * 0x1p-24);
  CHECK(mismatch.count == 0);

  const auto ext_mlp = mlp_steps(ext, owned_tensors(ext));
  require_same(ext_mlp, mlp_steps(own, owned_tensors(own)), test::Modules::same);
  CHECK(ext_mlp[0][2] < ext_mlp[0][0]);  // the loss falls
  CHECK(app.queue_uses() > 0);           // every submission went through the application's lock
  require_quiet(app, ext);
}

TEST_CASE("interop: tensors over the application's buffers give what vkgrad's own tensors give", "[interop]") {
  App app;
  Context ext(app.external());
  const auto expected_ops = gemm_and_activation(ext, owned_tensors(ext));
  const auto expected_mlp = mlp_steps(ext, owned_tensors(ext));
  for (const bool texel_usage : {true, false}) {
    INFO((texel_usage ? "with" : "without") << " uniform-texel usage");
    Arena arena(app, ext, 1 << 20, texel_usage);
    // With texel usage the wrapped tensors run the very kernels vkgrad's own run; without, the
    // texel-load kernels (cpu kernel set) give way to the storage-buffer ones, separately compiled.
    const bool same_kernels = texel_usage || !ext.texel_loads();
    const auto modules = same_kernels ? test::Modules::same : test::Modules::separate;
    Tensor probe = arena.make({7}, std::vector<float>(7, 1.0f));
    CHECK(probe.buffer().texel_readable() == (texel_usage && ext.texel_loads()));
    require_same(gemm_and_activation(ext, arena.maker()), expected_ops, modules);
    require_same(mlp_steps(ext, arena.maker()), expected_mlp, modules);

    // Written in place by fill and copy, and read back by the application from its own memory.
    Tensor src = arena.make({257}, test::uniform(257, -1, 1, 21)), dst = arena.make({257}, {});
    CommandList cmd(ext);
    cmd.copy(src, dst);
    cmd.fill(probe, -3.0f);
    cmd.run();
    CHECK(arena.host_view(dst) == src.to_vector());
    CHECK(arena.host_view(probe) == std::vector<float>(7, -3.0f));
    dst.upload(std::vector<float>(257, 2.5f));
    CHECK(arena.host_view(dst) == std::vector<float>(257, 2.5f));
    CHECK(arena.sentinels_intact());

    // 2-byte and 1-byte elements: the range covers the data rounded up to 4 bytes, and nothing
    // beyond it is written.
    const std::vector<float> values = test::uniform(7, -4, 4, 22);
    Tensor halves = arena.make_typed({7}, DType::f16), bytes = arena.make_typed({5}, DType::u8);
    Tensor from = Tensor::from(ext, {7}, values);
    CommandList typed(ext);
    cast(typed, from, halves);
    typed.fill(bytes, 3.0f);
    typed.run();
    CHECK(halves.to_vector<half>() == to_half(values));
    CHECK(bytes.to_vector<uint8_t>() == std::vector<uint8_t>(5, 3));
    CHECK(arena.sentinels_intact());
  }

  // The other way round: the VkBuffer behind a tensor of vkgrad's own.
  Tensor mine(ext, {100});
  const VulkanBuffer b = mine.vulkan_buffer();
  CHECK(b.buffer != 0);
  CHECK(b.offset == 0);
  CHECK(b.size == 400);
  CHECK((b.usage & buffer_usage::storage) != 0);
  CHECK((b.usage & buffer_usage::transfer_dst) != 0);
  require_quiet(app, ext);
}

TEST_CASE("interop: submissions ordered with the application's compute work by its semaphores and fences",
          "[interop]") {
  App app;
  if (!app.timeline_semaphores) {
    WARN("the device has no timeline semaphores: only binary semaphores are exercised");
  }
  Context ext(app.external());
  constexpr uint32_t n = 1000;
  App::Buffer a = app.make_buffer(n * 4, kStorageUsage), b = app.make_buffer(n * 4, kStorageUsage);
  Tensor ta = Tensor::wrap(ext, a.range(0, n * 4), {n}), tb = Tensor::wrap(ext, b.range(0, n * 4), {n});
  const auto relu_of_fill = [](float scale, float bias) {
    std::vector<float> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = std::max(App::fill_value(i, scale, bias), 0.0f);
    return v;
  };
  const auto fill_of = [](float scale, float bias) {
    std::vector<float> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = App::fill_value(i, scale, bias);
    return v;
  };
  const auto host = [](const App::Buffer& buffer) { return std::vector<float>(buffer.data, buffer.data + n); };

  SECTION("submit: waiting on and signalling the application's semaphores, signalling its fence") {
    vk::raii::Semaphore filled = app.make_semaphore(false);
    vk::raii::Fence done = app.device.createFence({});
    // The application fills a; vkgrad reads it once the binary semaphore says so and writes b; the
    // application then overwrites a (a write after vkgrad's read) once vkgrad signals.
    vk::raii::Semaphore timeline = app.make_semaphore(app.timeline_semaphores);
    vk::raii::Semaphore read_done = app.make_semaphore(false);
    auto fill = app.begin_commands();
    app.record_fill(fill, a, 0, n, 0.25f, -2.0f);
    app.submit(fill, {}, {{*filled, 0}}, nullptr);
    CommandList relu(ext);
    activation_forward(relu, Activation::relu, ta, tb);
    SubmitSync sync;
    sync.wait.push_back({vk_handle(*filled), 0});
    if (app.timeline_semaphores) {
      sync.signal.push_back({vk_handle(*timeline), 1});
    } else {
      sync.signal.push_back({vk_handle(*read_done), 0});
    }
    relu.submit(sync);
    auto refill = app.begin_commands();
    app.record_fill(refill, a, 0, n, 0.5f, 1.0f);
    App::record_host_barrier(refill);
    if (app.timeline_semaphores) {
      app.submit(refill, {{*timeline, 1}}, {}, *done);
    } else {
      app.submit(refill, {{*read_done, 0}}, {}, *done);
    }
    app.wait(*done);
    relu.wait();
    CHECK(host(b) == relu_of_fill(0.25f, -2.0f));
    CHECK(host(a) == fill_of(0.5f, 1.0f));

    // A replay that waits for a timeline value the host signals, and signals the application's fence.
    if (app.timeline_semaphores) {
      vk::raii::Fence replayed = app.device.createFence({});
      SubmitSync again;
      again.wait.push_back({vk_handle(*timeline), 2});
      again.signal.push_back({vk_handle(*timeline), 3});
      again.fence = vk_handle(*replayed);
      relu.submit(again);
      // vkgrad's commands wait for the host's signal: the counter stays at 1 meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      CHECK(timeline.getCounterValue() == 1);
      CHECK(replayed.getStatus() == vk::Result::eNotReady);
      app.device.signalSemaphore(vk::SemaphoreSignalInfo(*timeline, 2));
      app.wait(*replayed);
      const vk::Semaphore waited = *timeline;
      const uint64_t value = 3;
      CHECK(app.device.waitSemaphores(vk::SemaphoreWaitInfo({}, waited, value), UINT64_MAX) == vk::Result::eSuccess);
      relu.wait();
      CHECK(host(b) == relu_of_fill(0.5f, 1.0f));
    }
  }

  SECTION("record_into: vkgrad's commands between the application's own in its command buffer") {
    // The application computes into a scratch buffer and copies it into a (a transfer write before
    // vkgrad's compute read), copies vkgrad's result b into c (a transfer read after vkgrad's
    // compute write) and overwrites a (a write after vkgrad's read): only vkgrad's opening and
    // closing barriers order them.
    App::Buffer scratch = app.make_buffer(n * 4, kStorageUsage), c = app.make_buffer(n * 4, kStorageUsage);
    CommandList relu(ext);
    activation_forward(relu, Activation::relu, ta, tb);
    vk::raii::Fence done = app.device.createFence({});
    auto cb = app.begin_commands();
    app.record_fill(cb, scratch, 0, n, 0.75f, -3.0f);
    const vk::MemoryBarrier filled(vk::AccessFlagBits::eShaderWrite, vk::AccessFlagBits::eTransferRead);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader, vk::PipelineStageFlagBits::eTransfer, {}, filled, {},
                       {});
    cb.copyBuffer(*scratch.buffer, *a.buffer, vk::BufferCopy(0, 0, n * 4));
    relu.record_into(static_cast<VkCommandBuffer>(*cb));
    cb.copyBuffer(*b.buffer, *c.buffer, vk::BufferCopy(0, 0, n * 4));
    app.record_fill(cb, a, 0, n, 1.0f, 0.0f);
    const vk::MemoryBarrier to_host(vk::AccessFlagBits::eShaderWrite | vk::AccessFlagBits::eTransferWrite,
                                    vk::AccessFlagBits::eHostRead);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader | vk::PipelineStageFlagBits::eTransfer,
                       vk::PipelineStageFlagBits::eHost, {}, to_host, {}, {});
    app.submit(cb, {}, {}, *done);
    app.wait(*done);
    CHECK(host(b) == relu_of_fill(0.75f, -3.0f));
    CHECK(host(c) == relu_of_fill(0.75f, -3.0f));
    CHECK(host(a) == fill_of(1.0f, 0.0f));
    CHECK_FALSE(relu.pending());  // the application's submission is not the list's
  }
  require_quiet(app, ext);
}

TEST_CASE("interop: destroying a context over the application's device leaves the application's objects usable",
          "[interop]") {
  App app;
  constexpr uint32_t n = 300;
  App::Buffer a = app.make_buffer(n * 4, kStorageUsage);
  {
    Context ext(app.external());
    Tensor ta = Tensor::wrap(ext, a.range(0, n * 4), {n});
    Tensor own = Tensor::from(ext, {n}, test::uniform(n, -1, 1, 31));
    CommandList cmd(ext);
    activation_forward(cmd, Activation::relu, own, ta);
    cmd.run();
    CHECK(app.messages().empty());
  }
  // The device, the queue and the buffer are still the application's to use.
  vk::raii::Fence done = app.device.createFence({});
  auto cb = app.begin_commands();
  app.record_fill(cb, a, 0, n, 2.0f, 1.0f);
  App::record_host_barrier(cb);
  app.submit(cb, {}, {}, *done);
  app.wait(*done);
  for (uint32_t i = 0; i < n; ++i) REQUIRE(a.data[i] == App::fill_value(i, 2.0f, 1.0f));
  // And another context can be made on them.
  Context again(app.external());
  Tensor ta = Tensor::wrap(again, a.range(0, n * 4), {n});
  const std::vector<float> filled(a.data, a.data + n);
  CHECK(ta.to_vector() == filled);
  require_quiet(app, again);
}

TEST_CASE("interop: misuse is refused with a message saying what to do", "[interop]") {
  App app;
  const ExternalDevice good = app.external();
  const auto refused_device = [&](const std::function<void(ExternalDevice&)>& change,
                                  std::initializer_list<const char*> needles) {
    ExternalDevice e = good;
    change(e);
    test::require_refused([&] { Context c(e); }, needles);
  };
  refused_device([](ExternalDevice& e) { e.instance = nullptr; }, {"ExternalDevice::instance", "null"});
  refused_device([](ExternalDevice& e) { e.physical_device = nullptr; }, {"ExternalDevice::physical_device", "null"});
  refused_device([](ExternalDevice& e) { e.device = nullptr; }, {"ExternalDevice::device", "null"});
  refused_device([](ExternalDevice& e) { e.get_instance_proc_addr = nullptr; }, {"get_instance_proc_addr", "null"});
  refused_device([](ExternalDevice& e) { e.queue_family = 99; }, {"queue_family 99", "does not exist"});
  refused_device([](ExternalDevice& e) { e.queue_index = 99; }, {"queue_index 99", "does not exist"});
  const auto families = app.physical.getQueueFamilyProperties();
  bool checked_family_without_compute = false;
  for (uint32_t f = 0; f < families.size(); ++f) {
    if (families[f].queueFlags & vk::QueueFlagBits::eCompute) continue;
    refused_device([f](ExternalDevice& e) { e.queue_family = f; }, {"has no compute", "VK_QUEUE_COMPUTE_BIT"});
    checked_family_without_compute = true;
  }
  if (!checked_family_without_compute) WARN("every queue family of the device has compute: that refusal is not run");
  {
    ExternalDevice old = good;
    old.instance_api_version = VK_API_VERSION_1_0;
    REQUIRE_THROWS_AS(Context(old), SetupError);
    REQUIRE_THROWS_WITH(Context(old), Catch::Contains("vkgrad needs 1.1"));
  }
  {
    // Validation asked of a context over an instance without VK_EXT_debug_utils.
    AppOptions plain;
    plain.validation = false;
    App quiet_app(plain);
    REQUIRE_THROWS_WITH(Context(quiet_app.external(), ContextOptions().set_validation(true)),
                        Catch::Contains("VK_EXT_debug_utils"));
    // VKGRAD_VALIDATION=1 takes validation only where the application enabled it.
    Context unvalidated(quiet_app.external());
    CHECK_FALSE(unvalidated.validation_enabled());
  }

  Context ext(app.external());
  App::Buffer storage = app.make_buffer(1024, kStorageUsage);
  App::Buffer transfer_only = app.make_buffer(1024, buffer_usage::transfer_src | buffer_usage::transfer_dst);
  App::Buffer storage_only = app.make_buffer(1024, buffer_usage::storage);
  test::require_refused(
      [&] {
        Tensor::wrap(ext, VulkanBuffer{0, 0, 1024, kStorageUsage}, {16});
      },
      {"VulkanBuffer::buffer is null"});
  test::require_refused([&] { Tensor::wrap(ext, transfer_only.range(0, 1024), {16}); },
                        {"VK_BUFFER_USAGE_STORAGE_BUFFER_BIT"});
  const uint64_t alignment = std::max<uint64_t>(ext.device().min_storage_buffer_offset_alignment, 4);
  test::require_refused([&] { Tensor::wrap(ext, storage.range(alignment / 2, 512), {16}); },
                        {"not a multiple of", "minStorageBufferOffsetAlignment"});
  test::require_refused([&] { Tensor::wrap(ext, storage.range(0, 396), {100}); }, {"needs 400 bytes", "size is 396"});
  test::require_refused([&] { Tensor::wrap(ext, storage.range(alignment, 4096), {16}); }, {"runs past the end"});

  Tensor no_transfer = Tensor::wrap(ext, storage_only.range(0, 1024), {256});
  test::require_refused([&] { no_transfer.upload(std::vector<float>(256, 1.0f)); },
                        {"upload", "VK_BUFFER_USAGE_TRANSFER_DST_BIT"});
  test::require_refused([&] { (void)no_transfer.to_vector(); }, {"download", "VK_BUFFER_USAGE_TRANSFER_SRC_BIT"});
  test::require_refused([&] { no_transfer.fill(0.0f); }, {"fill", "VK_BUFFER_USAGE_TRANSFER_DST_BIT"});
  {
    CommandList cmd(ext);
    test::require_refused([&] { cmd.fill(no_transfer, 0.0f); }, {"fill", "VK_BUFFER_USAGE_TRANSFER_DST_BIT"});
    test::require_refused([&] { cmd.record_into(nullptr); }, {"record_into", "null"});
    // A wrapped tensor belongs to its context like any other.
    CommandList other(test::context());
    Tensor y(test::context(), {256});
    test::require_refused([&] { activation_forward(other, Activation::relu, no_transfer, y); }, {"another Context"});
  }
  if (ext.device().timestamps) {
    CommandList timed(ext, CommandListOptions().set_timestamps(true));
    test::require_refused([&] { timed.record_into(reinterpret_cast<VkCommandBuffer_T*>(1)); },
                          {"record_into", "timestamps"});
  }
  require_quiet(app, ext);
}
