// Fault injection: device memory running out (under vkgrad's own limit and when the driver itself
// refuses), a lost device and failed submissions (simulated through the context's test hook, so
// the library's real error paths run), and a checkpoint write that fails part-way.
//
// Every test that could hang if cleanup waited on a fence that is never signalled runs under a
// watchdog (alarm): a hang kills the process and fails the test within a minute instead of at
// CTest's timeout.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>

#include "context_impl.hpp"
#include "harness.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VKGRAD_TEST_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define VKGRAD_TEST_SANITIZER 1
#endif
#endif

namespace vkgrad::test {
namespace {

namespace fs = std::filesystem;
using detail::Fault;
using detail::inject_fault;

constexpr uint64_t MiB = 1ull << 20;

// Kills the process (SIGALRM) if the test is still running after `seconds`.
struct Watchdog {
  explicit Watchdog(unsigned seconds) { ::alarm(seconds); }
  ~Watchdog() { ::alarm(0); }
};

// Sets one resource limit's soft value for the guard's lifetime.
class SoftLimit {
 public:
  SoftLimit(int resource, rlim_t value) : resource_(resource) {
    REQUIRE(::getrlimit(resource_, &old_) == 0);
    rlimit r = old_;
    r.rlim_cur = value;
    REQUIRE(::setrlimit(resource_, &r) == 0);
  }
  ~SoftLimit() { ::setrlimit(resource_, &old_); }
  SoftLimit(const SoftLimit&) = delete;
  SoftLimit& operator=(const SoftLimit&) = delete;

 private:
  int resource_;
  rlimit old_{};
};

// Sets an environment variable for the guard's lifetime.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
    ::setenv(name, value, 1);
  }
  ~EnvVar() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

ContextOptions fresh() { return ContextOptions{}.set_pipeline_cache(false); }

std::vector<float> relu(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i] > 0 ? v[i] : 0.0f;
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void require_no_messages(const Context& ctx) {
  const auto messages = ctx.validation_messages();
  for (const auto& m : messages) UNSCOPED_INFO(m);
  CHECK(messages.empty());
}

}  // namespace

// ---- device memory ---------------------------------------------------------------------------

TEST_CASE("the memory limit refuses allocations beyond it and the context stays usable", "[fault][memory]") {
  const uint64_t limit = 32 * MiB, tensor_bytes = 4 * MiB;
  Context ctx(fresh().set_memory_limit(limit));
  CHECK(ctx.memory_limit() == limit);
  std::vector<Tensor> held;
  held.reserve(64);
  std::string message;
  try {
    for (int i = 0; i < 64; ++i) held.emplace_back(ctx, Shape{tensor_bytes / 4});
    FAIL("64 tensors of 4 MiB fit under a 32 MiB limit");
  } catch (const OutOfMemoryError& e) {
    message = e.what();
    CHECK(e.vk_result() == VK_ERROR_OUT_OF_DEVICE_MEMORY);
  }
  CAPTURE(message, held.size());
  CHECK_THAT(message, Catch::Contains("memory limit of 32.00 MiB") && Catch::Contains("VKGRAD_MEMORY_LIMIT") &&
                          Catch::Contains("Free tensors"));
  // The whole limit is usable (the last block shrinks to fit), and never exceeded.
  CHECK(held.size() * tensor_bytes > limit - tensor_bytes);
  CHECK(ctx.reserved_bytes() <= limit);
  // One tensor larger than the limit is refused up front.
  CHECK_THROWS_AS(Tensor(ctx, {limit / 4 + 1}), OutOfMemoryError);

  // Freeing makes room again, and the context computes correctly.
  held.erase(held.begin(), held.begin() + 2);
  const auto in = uniform(tensor_bytes / 4, -1, 1, 5);
  Tensor x(ctx, {tensor_bytes / 4});
  x.upload(in);
  Tensor& y = held.back();
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::relu, x, y);
  cmd.run();
  CHECK(y.to_vector() == relu(in));
  CHECK(ctx.reserved_bytes() <= limit);
  require_no_messages(ctx);
}

TEST_CASE("under the memory limit a staging transfer that does not fit fails and can be retried", "[fault][memory]") {
  // The discrete-GPU path: uploads go through a staging buffer, which counts against the limit.
  const uint64_t limit = 8 * MiB;
  Context ctx(fresh().set_memory_limit(limit).set_mapped_tensors(false));
  const auto in = uniform(MiB / 4, -1, 1, 6);  // 1 MiB
  Tensor x(ctx, {MiB / 4});
  std::vector<Tensor> filler;
  try {
    while (filler.size() < 64) filler.emplace_back(ctx, Shape{MiB / 4});
  } catch (const OutOfMemoryError&) {
  }
  REQUIRE(!filler.empty());
  REQUIRE(filler.size() < 64);
  CHECK_THROWS_WITH(x.upload(in), Catch::Contains("memory limit"));
  filler.pop_back();
  x.upload(in);
  CHECK(x.to_vector() == in);
  require_no_messages(ctx);
}

TEST_CASE("VKGRAD_MEMORY_LIMIT sets the limit, malformed values are refused with the accepted form",
          "[fault][memory]") {
  {
    EnvVar env("VKGRAD_MEMORY_LIMIT", "1.5G");
    Context ctx(fresh());
    CHECK(ctx.memory_limit() == 1536 * MiB);
    Context explicit_limit(fresh().set_memory_limit(0));  // the option wins over the environment
    CHECK(explicit_limit.memory_limit() == 0);
  }
  // Malformed values fail before any Vulkan work, so these are cheap.
  for (const char* bad : {"12X", "-1", "M", "1e9", " 5M", "5M ", "0x10"}) {
    CAPTURE(bad);
    EnvVar env("VKGRAD_MEMORY_LIMIT", bad);
    CHECK_THROWS_WITH(Context(fresh()),
                      Catch::Contains("VKGRAD_MEMORY_LIMIT='" + std::string(bad) + "'") && Catch::Contains("\"512M\""));
  }
  EnvVar env("VKGRAD_MEMORY_LIMIT", "512MiB");
  CHECK(Context(fresh()).memory_limit() == 512 * MiB);
}

TEST_CASE("when the driver itself refuses device memory the error is OutOfMemoryError and the context stays usable",
          "[fault][memory]") {
#ifdef VKGRAD_TEST_SANITIZER
  WARN("skipped: sanitizers reserve terabytes of address space, so an RLIMIT_AS cannot be set under them");
  return;
#else
  // The driver reports its refusals through the debug messenger too (lavapipe:
  // "[lvp_device.c:...] VK_ERROR_OUT_OF_DEVICE_MEMORY"); they are expected here, checked below.
  ContextOptions options = fresh();
  options.on_validation_message = [](std::string_view) {};
  Context ctx(options);
  if (ctx.device().type != DeviceType::cpu) {
    // On a GPU, device memory is not host address space; the limit below would not reach it.
    WARN("skipped: needs a CPU Vulkan device (lavapipe), whose device memory is host memory");
    return;
  }
  const auto in = uniform(4096, -1, 1, 7);
  Tensor x = Tensor::from<float>(ctx, {4096}, in);
  Tensor y(ctx, {4096});
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::relu, x, y);
  cmd.run();  // pipelines and driver threads exist before the limit

  // Address space in use now (VmSize), plus 3.5 blocks of 64 MiB: the driver's malloc of the
  // fourth block fails. Only address space is reserved, so this cannot exhaust real memory.
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  REQUIRE(pages > 0);
  const uint64_t in_use = uint64_t(pages) * uint64_t(::sysconf(_SC_PAGESIZE));
  rlimit current{};
  REQUIRE(::getrlimit(RLIMIT_AS, &current) == 0);
  if (current.rlim_max != RLIM_INFINITY && current.rlim_max < in_use + 224 * MiB) {
    WARN("skipped: the hard RLIMIT_AS is already below what the test needs");
    return;
  }
  std::vector<Tensor> held;
  held.reserve(256);
  std::string message;
  int vk_result = 0;
  {
    SoftLimit limit(RLIMIT_AS, in_use + 224 * MiB);
    try {
      for (int i = 0; i < 256; ++i) held.emplace_back(ctx, Shape{4 * MiB});  // 16 MiB each
    } catch (const OutOfMemoryError& e) {
      message = e.what();
      vk_result = e.vk_result();
    }
    CAPTURE(held.size());
    REQUIRE(!message.empty());
    CHECK(held.size() < 256);
    // Under the same limit: freeing lets allocation succeed again, and work runs.
    held.resize(held.size() / 2);
    held.emplace_back(ctx, Shape{4 * MiB});
    y.fill(-1.0f);
    cmd.run();
  }
  CAPTURE(message);
  CHECK((vk_result == VK_ERROR_OUT_OF_DEVICE_MEMORY || vk_result == VK_ERROR_OUT_OF_HOST_MEMORY));
  CHECK_THAT(message, Catch::Contains("allocating") && Catch::Contains("out of memory"));
  CHECK(!ctx.lost());
  CHECK(y.to_vector() == relu(in));
  for (const auto& m : ctx.validation_messages()) {
    CAPTURE(m);
    CHECK((m.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos ||
           m.find("VK_ERROR_OUT_OF_HOST_MEMORY") != std::string::npos));
  }
#endif
}

// ---- device loss and failed submissions --------------------------------------------------------

TEST_CASE("a device lost at submit: every later call throws DeviceLostError and nothing hangs",
          "[fault][device-lost]") {
  Watchdog dog(60);
  Context ctx(fresh());
  const auto in = uniform(1000, -1, 1, 8);
  Tensor x = Tensor::from<float>(ctx, {1000}, in);
  Tensor y(ctx, {1000});
  CommandList cmd(ctx), recording(ctx);
  activation_forward(cmd, Activation::relu, x, y);
  cmd.run();
  CHECK(!ctx.lost());

  inject_fault(ctx.impl(), Fault::device_lost_on_submit);
  try {
    cmd.run();
    FAIL("expected DeviceLostError");
  } catch (const DeviceLostError& e) {
    CHECK(e.vk_result() == VK_ERROR_DEVICE_LOST);
    CHECK_THAT(e.what(), Catch::Contains("submitting") && Catch::Contains("create a new vkgrad::Context"));
  }
  CHECK(ctx.lost());
  CHECK(!cmd.pending());
  CHECK_THROWS_WITH(cmd.run(), Catch::Contains("was lost earlier") && Catch::Contains("Create a new vkgrad::Context"));
  CHECK_THROWS_AS(cmd.submit(), DeviceLostError);
  CHECK_THROWS_AS(cmd.wait(), DeviceLostError);
  CHECK_THROWS_AS(cmd.reset(), DeviceLostError);
  CHECK_THROWS_AS(activation_forward(recording, Activation::relu, x, y), DeviceLostError);
  CHECK_THROWS_AS(recording.fill(y, 0.0f), DeviceLostError);
  CHECK_THROWS_AS(y.to_vector(), DeviceLostError);
  CHECK_THROWS_AS(x.upload(in), DeviceLostError);
  CHECK_THROWS_AS(x.fill(1.0f), DeviceLostError);
  CHECK_THROWS_AS(Tensor(ctx, {4}), DeviceLostError);
  CHECK_THROWS_AS(CommandList(ctx), DeviceLostError);
  CHECK_THROWS_AS(ctx.wait_idle(), DeviceLostError);
  require_no_messages(ctx);
}  // the lists, tensors and the context are destroyed here, under the watchdog

TEST_CASE("a device lost while work runs: the wait throws and destruction still waits for the work",
          "[fault][device-lost]") {
  // The fault reports the loss while the submitted work really runs. Destroying the list, its
  // tensors or the context before it finishes is invalid usage that the validation layer reports
  // (VKGRAD_VALIDATION=1, as in CI), and could crash the driver: the cleanup must wait.
  Watchdog dog(60);
  Context ctx(fresh());
  {
    const uint64_t n = 1 << 20;
    Tensor a(ctx, {n}), b(ctx, {n});
    a.fill(0.5f);
    CommandList cmd(ctx);
    for (int i = 0; i < 20; ++i) {
      activation_forward(cmd, Activation::tanh, a, b);
      activation_forward(cmd, Activation::tanh, b, a);
    }
    cmd.run();
    inject_fault(ctx.impl(), Fault::device_lost_on_wait);
    CHECK_THROWS_WITH(cmd.run(), Catch::Contains("waiting for") && Catch::Contains("create a new vkgrad::Context"));
    CHECK(ctx.lost());
    CHECK(cmd.pending());  // submitted: its fence is still owed a wait
    CHECK_THROWS_AS(cmd.wait(), DeviceLostError);
    CHECK_THROWS_AS(a.to_vector(), DeviceLostError);
  }
  require_no_messages(ctx);

  // The same through the next queue-idle wait (a mapped download) instead of the list's fence.
  Context ctx2(fresh());
  {
    Tensor a(ctx2, {1 << 16});
    a.fill(2.0f);
    CommandList cmd(ctx2);
    activation_forward(cmd, Activation::relu, a, a);
    inject_fault(ctx2.impl(), Fault::device_lost_on_wait);
    cmd.submit();
    CHECK_THROWS_AS(a.to_vector(), DeviceLostError);
    CHECK(ctx2.lost());
  }
  require_no_messages(ctx2);
}

TEST_CASE("a device lost during a staged upload or download is reported and cleaned up", "[fault][device-lost]") {
  Watchdog dog(60);
  for (const Fault fault : {Fault::device_lost_on_submit, Fault::device_lost_on_wait}) {
    CAPTURE(int(fault));
    Context ctx(fresh().set_mapped_tensors(false));  // transfers through a staging buffer
    const auto in = uniform(5000, -1, 1, 9);
    Tensor t(ctx, {5000});
    t.upload(in);
    inject_fault(ctx.impl(), fault);
    CHECK_THROWS_AS(t.upload(in), DeviceLostError);
    CHECK(ctx.lost());
    CHECK_THROWS_AS(t.to_vector(), DeviceLostError);
    require_no_messages(ctx);
  }
  Context ctx(fresh().set_mapped_tensors(false));
  Tensor t(ctx, {5000});
  t.fill(3.0f);
  inject_fault(ctx.impl(), Fault::device_lost_on_wait);
  CHECK_THROWS_AS(t.to_vector(), DeviceLostError);
  require_no_messages(ctx);
}

TEST_CASE("a failed submission that is not a loss leaves the context usable and the list resubmittable",
          "[fault][device-lost]") {
  Watchdog dog(60);
  Context ctx(fresh());
  const auto in = uniform(3000, -1, 1, 10);
  Tensor x = Tensor::from<float>(ctx, {3000}, in);
  Tensor y(ctx, {3000});
  y.fill(-7.0f);
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::relu, x, y);

  inject_fault(ctx.impl(), Fault::submit_error, vk::Result::eErrorOutOfHostMemory);
  try {
    cmd.run();
    FAIL("expected OutOfMemoryError");
  } catch (const OutOfMemoryError& e) {
    CHECK(e.vk_result() == VK_ERROR_OUT_OF_HOST_MEMORY);
    CHECK_THAT(e.what(), Catch::Contains("submitting") && Catch::Contains("free memory") && Catch::Contains("retry"));
  }
  CHECK(!ctx.lost());
  CHECK(!cmd.pending());
  cmd.wait();                                               // nothing is pending: returns at once
  CHECK(y.to_vector() == std::vector<float>(3000, -7.0f));  // nothing ran
  cmd.run();
  CHECK(y.to_vector() == relu(in));

  // Some other error, on the second submission from now.
  y.fill(-7.0f);
  inject_fault(ctx.impl(), Fault::submit_error, vk::Result::eErrorUnknown, 1);
  cmd.run();
  try {
    cmd.run();
    FAIL("expected DeviceError");
  } catch (const DeviceLostError&) {
    FAIL("not a device loss");
  } catch (const OutOfMemoryError&) {
    FAIL("not out of memory");
  } catch (const DeviceError& e) {
    CHECK(e.vk_result() == VK_ERROR_UNKNOWN);
    CHECK_THAT(e.what(), Catch::Contains("Retry"));
  }
  CHECK(!ctx.lost());
  y.fill(-7.0f);
  cmd.run();
  CHECK(y.to_vector() == relu(in));

  // Transfers through the staging buffer recover the same way.
  Context staged(fresh().set_mapped_tensors(false));
  Tensor t(staged, {3000});
  inject_fault(staged.impl(), Fault::submit_error, vk::Result::eErrorOutOfDeviceMemory);
  CHECK_THROWS_AS(t.upload(in), OutOfMemoryError);
  t.upload(in);
  CHECK(t.to_vector() == in);
  require_no_messages(ctx);
  require_no_messages(staged);
}

TEST_CASE("the Trainer surfaces a device loss as DeviceLostError, the last checkpoint stays loadable",
          "[fault][device-lost][nn]") {
  Watchdog dog(120);
  TempDir dir("fault");
  const fs::path checkpoint = dir.path / "model.safetensors";
  Context ctx(fresh());
  const uint64_t count = 96, features = 8;
  std::mt19937_64 rng(3);
  std::vector<uint8_t> images(count * features), labels(count);
  for (auto& p : images) p = uint8_t(rng() % 256);
  for (auto& l : labels) l = uint8_t(rng() % 3);
  nn::DeviceDataset data;
  data.images = Tensor::from<uint8_t>(ctx, {count, features}, images);
  data.labels = Tensor::from<uint8_t>(ctx, {count}, labels);
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(features, 8);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Linear>(8, 3);
  {
    CommandList init(ctx);
    model.reset_parameters(init, 1);
    init.run();
  }
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model, SgdOptions{.lr = 0.1f});
  nn::TrainerOptions options;
  options.batch = 16;
  options.steps_per_submit = 1;
  nn::Trainer trainer(ctx, model, loss, opt, options);
  trainer.train_epoch(data);
  save_safetensors(checkpoint, model.state_dict());
  const std::string saved = read_file(checkpoint);

  // The loss strikes in the middle of the next epoch, while a training step runs.
  int reports = 0;
  const auto progress = [&](uint64_t, uint64_t, const nn::Metrics&) {
    if (++reports == 2) inject_fault(ctx.impl(), Fault::device_lost_on_wait);
  };
  CHECK_THROWS_AS(trainer.train_epoch(data, progress, 0), DeviceLostError);
  CHECK(reports == 2);
  CHECK(ctx.lost());
  CHECK_THROWS_AS(trainer.evaluate(data), DeviceLostError);
  CHECK_THROWS_AS(trainer.train_epoch(data), DeviceLostError);
  // No checkpoint can be taken from the lost device, and the previous one is untouched.
  CHECK_THROWS_AS(save_safetensors(checkpoint, model.state_dict()), DeviceLostError);
  CHECK(read_file(checkpoint) == saved);

  // It loads into a model on a new context.
  Context again(fresh());
  nn::Sequential restored(again);
  restored.emplace<nn::Linear>(features, 8);
  restored.emplace<nn::Activation>(Activation::relu);
  restored.emplace<nn::Linear>(8, 3);
  const auto file = load_safetensors(checkpoint);
  restored.load_state_dict(file.tensors);
  const auto state = restored.state_dict();
  REQUIRE(state.size() == file.tensors.size());
  for (std::size_t i = 0; i < state.size(); ++i) CHECK(state[i].second.bytes == file.tensors[i].second.bytes);
  require_no_messages(ctx);
  require_no_messages(again);
}

// ---- checkpoints -------------------------------------------------------------------------------

TEST_CASE("a checkpoint write that fails part-way leaves the previous file intact", "[fault][safetensors]") {
  // The file-size limit makes write() fail with EFBIG once the temporary file reaches 4 KiB, i.e.
  // in the middle of the tensor data, as a full disk would.
  TempDir dir("fault");
  const fs::path p = dir.path / "ckpt.safetensors";
  const auto small = uniform(16, -1, 1, 11), big = uniform(64 * 1024, -1, 1, 12);
  save_safetensors(p, {{"w", HostTensor::from_floats({16}, small)}});
  const std::string before = read_file(p);
  {
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else SIGXFSZ kills the process
    SoftLimit limit(RLIMIT_FSIZE, 4096);
    CHECK_THROWS_WITH(save_safetensors(p, {{"w", HostTensor::from_floats({64 * 1024}, big)}}),
                      Catch::Contains("writing") && Catch::Contains("failed") && Catch::Contains("unchanged"));
    std::signal(SIGXFSZ, old_handler);
  }
  CHECK(read_file(p) == before);
  const auto loaded = load_safetensors(p);
  REQUIRE(loaded.tensors.size() == 1);
  CHECK(loaded.tensors[0].second.bytes == HostTensor::from_floats({16}, small).bytes);
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    CAPTURE(entry.path());
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }
  // Without the limit the same save succeeds.
  save_safetensors(p, {{"w", HostTensor::from_floats({64 * 1024}, big)}});
  CHECK(load_safetensors(p).tensors.at(0).second.bytes.size() == big.size() * 4);
}

}  // namespace vkgrad::test
