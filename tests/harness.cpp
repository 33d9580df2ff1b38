#include "harness.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include "context_impl.hpp"
#include "device_profiles.hpp"
#include "platform.hpp"

namespace vkgrad::test {

namespace {
std::unique_ptr<Context>& context_slot() {
  static std::unique_ptr<Context> ctx;
  return ctx;
}

// Messages reported while destroy_context() runs: the context's own list goes with it.
std::vector<std::string> destruction_messages;
bool destroying = false;

ContextOptions test_options() {
  ContextOptions options;
  // As the default (print to stderr), and also kept if the context is being destroyed.
  options.on_validation_message = [](std::string_view message) {
    std::fprintf(stderr, "vkgrad: %.*s\n", static_cast<int>(message.size()), message.data());
    if (destroying) destruction_messages.emplace_back(message);
  };
  return options;
}

// The options the context in context_slot() was made with (or will be): a ScopedContext adjusts
// these, so that ScopedContexts nest (a GEMM path, then a row-reduction layout inside it).
ContextOptions& options_slot() {
  static ContextOptions options = test_options();
  return options;
}

// A context made with `options`, choosing its launches for the device profile named by
// VKGRAD_TEST_DEVICE_PROFILE where that is set (tests/device_profiles.hpp).
std::unique_ptr<Context> make_context(const ContextOptions& options) {
  auto ctx = std::make_unique<Context>(options);
  if (const char* profile = std::getenv("VKGRAD_TEST_DEVICE_PROFILE"); profile && *profile) {
    adopt_device_profile(*ctx, device_profile(profile), options);
  }
  return ctx;
}
}  // namespace

Context& context() {
  auto& slot = context_slot();
  if (!slot) slot = make_context(options_slot());
  return *slot;
}

ScopedContext::ScopedContext(const std::function<void(ContextOptions&)>& adjust) : saved_options_(options_slot()) {
  ContextOptions options = options_slot();
  adjust(options);
  auto scoped = make_context(options);
  saved_ = std::move(context_slot());
  context_slot() = std::move(scoped);
  options_slot() = options;
}

ScopedContext::~ScopedContext() {
  // Its validation messages fail the test that made it, as the test context's would.
  const auto messages = context_slot()->validation_messages();
  context_slot() = std::move(saved_);
  options_slot() = saved_options_;
  for (const auto& m : messages) UNSCOPED_INFO(m);
  CHECK(messages.empty());
}

Context* existing_context() { return context_slot().get(); }

std::vector<std::string> destroy_context() {
  auto& slot = context_slot();
  if (!slot) return {};
  std::weak_ptr<detail::ContextImpl> impl = slot->shared_impl();
  destroying = true;
  slot.reset();
  destroying = false;
  auto problems = std::move(destruction_messages);
  if (!impl.expired()) {
    problems.push_back("the test context is still held (" + std::to_string(impl.use_count()) +
                       " owners: tensors or command lists kept beyond their test), so its device was not destroyed");
  }
  return problems;
}

void limit_workgroup_count(uint32_t groups) {
  for (uint32_t& limit : context().impl().info.max_workgroup_count) limit = groups;
}

std::vector<GemmPath> kernel_set_gemm_paths() {
  if (context().kernels().set == KernelSet::gpu) return {GemmPath::tiled};
  return {GemmPath::direct, GemmPath::broadcast};
}

void for_each_gemm_path(const std::function<void()>& body) {
  for (const auto path : kernel_set_gemm_paths()) {
    INFO(to_string(path) << " GEMM path");
    ScopedContext scoped([path](ContextOptions& o) { o.gemm_path = path; });
    body();
  }
}

void require_no_validation_messages() {
  auto& ctx = context();
  const auto messages = ctx.validation_messages();
  ctx.clear_validation_messages();
  for (const auto& m : messages) UNSCOPED_INFO(m);
  REQUIRE(messages.empty());
}

void require_refused(const std::function<void()>& use, std::initializer_list<const char*> needles) {
  try {
    use();
    FAIL_CHECK("accepted");
  } catch (const InvalidArgument& e) {
    CAPTURE(e.what());
    for (const char* n : needles) CHECK_THAT(e.what(), Catch::Contains(n));
  }
}

std::vector<float> uniform(std::size_t n, float lo, float hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

Mismatch compare(const std::vector<float>& got, const std::vector<double>& expected, double rtol, double atol) {
  Mismatch m;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (close(got[i], expected[i], rtol, atol)) continue;
    ++m.count;
    double excess = std::numeric_limits<double>::infinity();
    if (std::isfinite(got[i]) && std::isfinite(expected[i])) {
      excess = std::fabs(got[i] - expected[i]) / (atol + rtol * std::fabs(expected[i]));
    }
    if (m.count == 1 || excess > m.worst_excess) {
      m.worst_excess = excess;
      m.worst_index = i;
      m.got = got[i];
      m.expected = expected[i];
    }
  }
  return m;
}

std::string run_differences(const std::vector<float>& a, const std::vector<float>& b, Modules modules,
                            const std::vector<double>& scale) {
  if (a.size() != b.size()) return "sizes differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  if (!scale.empty() && scale.size() != a.size()) return "the scale has " + std::to_string(scale.size()) + " elements";
  constexpr double rtol = 1e-5, atol = 1e-6;
  std::size_t count = 0, first = 0, worst = 0;
  double worst_excess = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    double excess = 0;
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      excess = a[i] == b[i] ? 0 : INFINITY;
    } else if (modules == Modules::same) {
      excess = std::memcmp(&a[i], &b[i], sizeof(float)) == 0 ? 0 : INFINITY;
    } else {
      const double s = std::max({std::fabs(double(a[i])), std::fabs(double(b[i])), scale.empty() ? 0.0 : scale[i]});
      excess = std::fabs(double(a[i]) - double(b[i])) / (atol + rtol * s);
    }
    if (excess <= 1) continue;
    if (count++ == 0) first = i;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  if (count == 0) return "";
  auto element = [&](std::size_t i) {
    uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    char buf[120];
    std::snprintf(buf, sizeof buf, "[%zu]: %.9g (0x%08x) vs %.9g (0x%08x)", i, double(a[i]), x, double(b[i]), y);
    return std::string(buf);
  };
  return std::to_string(count) + " of " + std::to_string(a.size()) + " elements differ" +
         (modules == Modules::same ? " in their bits" : " beyond the tolerance") + "; first " + element(first) +
         "; worst " + element(worst);
}

TempDir::TempDir(const std::string& tag)
    : path(std::filesystem::temp_directory_path() /
           ("vkgrad_" + tag + "_" + std::to_string(detail::platform::process_id()))) {
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
  std::filesystem::remove_all(path, ec);
}

}  // namespace vkgrad::test
