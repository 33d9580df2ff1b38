// CommandList::host_step: lists in segments with host code between them, replayed; the staging
// helpers (host_tensor, host_values, copy_range) the data-parallel steps use.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "command_impl.hpp"
#include "harness.hpp"
#include "vkgrad/interop.hpp"

namespace vkgrad::test {

namespace {
// Records: host = x; step: host values ·= factor (and counted); y = relu(host) + earlier contents
// of nothing (a plain activation), so the device work after the step reads what the host wrote.
struct HostRoundTrip {
  Tensor x, host, back, y;
  int calls = 0;
  float factor = 2.0f;
  HostRoundTrip(Context& ctx, std::size_t n, const std::vector<float>& values)
      : x(Tensor::from(ctx, {n}, values)), host(detail::host_tensor(ctx, n + 3)), back(ctx, {n}), y(ctx, {n}) {}
  void record(CommandList& cmd, std::size_t n) {
    detail::copy_range(cmd, x, 0, host, 3, n);
    cmd.host_step([this, n] {
      ++calls;
      auto v = detail::host_values(host);
      for (std::size_t i = 0; i < n; ++i) v[3 + i] *= factor;
    });
    detail::copy_range(cmd, host, 3, back, 0, n);
    activation_forward(cmd, Activation::relu, back, y);
  }
};
}  // namespace

TEST_CASE("a list with host steps runs its segments in order, at every replay", "[command][host_step]") {
  Context& ctx = context();
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(257), std::size_t(1) << 20}) {
    CAPTURE(n);
    const auto values = uniform(n, -3.0f, 3.0f, 7);
    HostRoundTrip r(ctx, n, values);
    CommandList cmd(ctx);
    r.record(cmd, n);
    CHECK(cmd.host_step_count() == 1);
    for (int replay = 1; replay <= 3; ++replay) {
      r.y.fill(poison);
      r.factor = float(replay);
      cmd.run();
      CHECK(r.calls == replay);
      const auto y = r.y.to_vector();
      for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == std::max(values[i] * float(replay), 0.0f));
    }
  }
  require_no_validation_messages();
}

TEST_CASE("several host steps in one list, and several lists with host steps", "[command][host_step]") {
  Context& ctx = context();
  const std::size_t n = 4099;
  const auto values = uniform(n, -1.0f, 1.0f, 3);
  Tensor x = Tensor::from(ctx, {n}, values);
  Tensor host = detail::host_tensor(ctx, n);
  CommandList cmd(ctx);
  std::vector<int> order;
  for (int k = 0; k < 4; ++k) {
    detail::copy_range(cmd, x, 0, host, 0, n);
    cmd.host_step([&, k] {
      order.push_back(k);
      for (float& v : detail::host_values(host)) v += 1.0f;
    });
    detail::copy_range(cmd, host, 0, x, 0, n);
  }
  CHECK(cmd.host_step_count() == 4);
  cmd.run();
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  const auto y = x.to_vector();
  for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == values[i] + 1.0f + 1.0f + 1.0f + 1.0f);
  require_no_validation_messages();
}

TEST_CASE("an exception in a host step leaves the list submittable", "[command][host_step]") {
  Context& ctx = context();
  const std::size_t n = 33;
  const auto values = uniform(n, -3.0f, 3.0f, 11);
  HostRoundTrip r(ctx, n, values);
  CommandList cmd(ctx);
  r.record(cmd, n);
  bool fail = true;
  cmd.host_step([&] {
    if (fail) throw std::runtime_error("host step failed");
  });
  CHECK_THROWS_WITH(cmd.run(), "host step failed");
  CHECK_FALSE(cmd.pending());
  fail = false;
  r.y.fill(poison);
  cmd.run();
  const auto y = r.y.to_vector();
  for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == std::max(values[i] * 2.0f, 0.0f));
  require_no_validation_messages();
}

TEST_CASE("host steps and the staging helpers refuse misuse", "[command][host_step]") {
  Context& ctx = context();
  Tensor a(ctx, {8});
  Tensor b(ctx, {8});
  Tensor h(ctx, {8}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_AS(cmd.host_step({}), InvalidArgument);
  CHECK_THROWS_AS(detail::copy_range(cmd, a, 4, b, 0, 5), InvalidArgument);
  CHECK_THROWS_AS(detail::copy_range(cmd, a, 0, b, 4, 5), InvalidArgument);
  CHECK_THROWS_AS(detail::copy_range(cmd, a, 0, b, 0, 0), InvalidArgument);
  CHECK_THROWS_AS(detail::copy_range(cmd, a, 0, h, 0, 1), InvalidArgument);
  CHECK_THROWS_AS(detail::copy_range(cmd, a, 0, a, 4, 1), InvalidArgument);
  CHECK_THROWS_AS(detail::host_values(h), InvalidArgument);
  CHECK_THROWS_AS(detail::host_tensor(ctx, 0), InvalidArgument);
  cmd.copy(a, b);
  cmd.host_step([] {});
  // The application's command buffer cannot call back: record_into refuses such a list.
  CHECK_THROWS_WITH(cmd.record_into(reinterpret_cast<VkCommandBuffer_T*>(uintptr_t(1))), Catch::Contains("host steps"));
  cmd.run();
  CHECK_THROWS_AS(cmd.host_step([] {}), InvalidArgument);  // no longer recording
  require_no_validation_messages();
}

}  // namespace vkgrad::test
