// Tensors: shapes, dtypes, round trips, and the errors bad arguments get.
#include <catch2/catch.hpp>
#include <cstring>

#include "harness.hpp"
#include "memory.hpp"

namespace vkgrad::test {

TEST_CASE("shapes validate their dimensions", "[tensor]") {
  CHECK(Shape{2, 3, 4}.numel() == 24);
  CHECK(Shape{7}.to_string() == "[7]");
  CHECK(Shape{128, 784}.to_string() == "[128, 784]");
  CHECK_THROWS_AS((Shape{2, 0}), InvalidArgument);
  CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5}), InvalidArgument);
  CHECK_THROWS_AS(Shape(std::span<const uint64_t>()), InvalidArgument);
  CHECK_THROWS_WITH((Shape{3, 0, 2}), Catch::Contains("[3, 0, 2]"));
}

TEST_CASE("upload and download round-trip every dtype and awkward size", "[tensor]") {
  Context& ctx = context();
  for (std::size_t n : {1ul, 3ul, 7ul, 255ul, 257ul, 65537ul, (1ul << 20) + 3}) {
    CAPTURE(n);
    auto f = uniform(n, -1e4f, 1e4f, n);
    Tensor tf = Tensor::from(ctx, {n}, f);
    CHECK(tf.to_vector() == f);

    std::vector<int32_t> i(n);
    for (std::size_t k = 0; k < n; ++k) i[k] = static_cast<int32_t>(k * 2654435761u);
    Tensor ti = Tensor::from<int32_t>(ctx, {n}, i);
    CHECK(ti.to_vector<int32_t>() == i);

    std::vector<uint8_t> u(n);
    for (std::size_t k = 0; k < n; ++k) u[k] = static_cast<uint8_t>(k * 31 + 7);
    Tensor tu = Tensor::from<uint8_t>(ctx, {n}, u);
    CHECK(tu.to_vector<uint8_t>() == u);
  }
  require_no_validation_messages();
}

TEST_CASE("special float values survive upload, download and fill bit for bit", "[tensor]") {
  Context& ctx = context();
  const std::vector<float> v = {0.0f,
                                -0.0f,
                                1e-45f,
                                -1e-40f,
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN()};
  Tensor t = Tensor::from(ctx, {v.size()}, v);
  const auto back = t.to_vector();
  CHECK(std::memcmp(back.data(), v.data(), v.size() * 4) == 0);
  t.fill(poison);
  for (float x : t.to_vector()) CHECK(std::isnan(x));
  t.fill(-2.5f);
  for (float x : t.to_vector()) CHECK(x == -2.5f);
  require_no_validation_messages();
}

TEST_CASE("transfers with the wrong size or dtype are refused with both shapes", "[tensor]") {
  Context& ctx = context();
  Tensor t(ctx, {4, 5});
  std::vector<float> small(19);
  CHECK_THROWS_WITH(t.upload(small), Catch::Contains("19") && Catch::Contains("[4, 5]"));
  std::vector<int32_t> ints(20);
  CHECK_THROWS_AS(t.upload(std::span<const int32_t>(ints)), InvalidArgument);
  CHECK_THROWS_WITH(t.to_vector<int32_t>(), Catch::Contains("f32") && Catch::Contains("i32"));
  CHECK_THROWS_AS(t.reshape({3, 7}), InvalidArgument);
  t.reshape({20});
  CHECK(t.shape() == Shape{20});
  Tensor empty;
  CHECK(empty.empty());
  CHECK_THROWS_AS(empty.to_vector(), InvalidArgument);
}

TEST_CASE("a tensor larger than the device's storage-buffer range is refused", "[tensor]") {
  Context& ctx = context();
  const uint64_t limit = ctx.device().max_storage_buffer_range;
  const uint64_t too_many = limit / 4 + 1;
  CHECK_THROWS_AS(Tensor(ctx, {too_many}), UnsupportedError);
  CHECK_THROWS_WITH(Tensor(ctx, {too_many}), Catch::Contains("maxStorageBufferRange"));
  CHECK_THROWS_AS(Tensor(ctx, {1ull << 40, 1ull << 40}), Error);
}

TEST_CASE("device memory is sub-allocated and returned", "[tensor]") {
  Context& ctx = context();
  const uint64_t before = ctx.allocated_bytes();
  {
    std::vector<Tensor> many;
    for (int i = 0; i < 200; ++i) many.emplace_back(ctx, Shape{1000});
    CHECK(ctx.allocated_bytes() >= before + 200 * 4000);
    // 200 tensors share blocks: far fewer bytes reserved than 200 separate 64 MiB blocks.
    CHECK(ctx.reserved_bytes() <= 256ull << 20);
  }
  CHECK(ctx.allocated_bytes() == before);
}

}  // namespace vkgrad::test

namespace vkgrad::test {

TEST_CASE("the staging-buffer path (discrete GPUs) round-trips and computes", "[tensor]") {
  // On unified-memory devices tensors are mapped; forcing staging exercises the path discrete GPUs
  // take, including transfers split into several staging chunks.
  Context ctx(ContextOptions{}.set_mapped_tensors(false).set_pipeline_cache(false));
  for (std::size_t n : {1ul, 257ul, (5ul << 20) + 3}) {
    CAPTURE(n);
    const auto x = uniform(n, -5.0f, 5.0f, n);
    Tensor tx = Tensor::from(ctx, {n}, x);
    REQUIRE(tx.buffer().allocation.mapped == nullptr);  // really the staging path
    CHECK(tx.to_vector() == x);
    Tensor ty(ctx, {n});
    ty.fill(poison);
    CommandList cmd(ctx);
    activation_forward(cmd, Activation::relu, tx, ty);
    cmd.run();
    const auto y = ty.to_vector();
    for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == (x[i] > 0 ? x[i] : 0.0f));
  }
  const auto messages = ctx.validation_messages();
  for (const auto& m : messages) UNSCOPED_INFO(m);
  CHECK(messages.empty());
}

}  // namespace vkgrad::test

namespace vkgrad::test {

TEST_CASE("a context is destroyed with its last owner on both transfer paths", "[tensor][context]") {
  // The staging buffer a context keeps for transfers (the path discrete GPUs take) once owned the
  // context itself: a reference cycle that kept the device, and all its memory, alive until exit.
  for (bool mapped : {true, false}) {
    CAPTURE(mapped);
    std::weak_ptr<detail::ContextImpl> impl;
    {
      Context ctx(ContextOptions{}.set_mapped_tensors(mapped).set_pipeline_cache(false));
      impl = ctx.shared_impl();
      const std::vector<float> x = {1.0f, -2.0f, 3.5f};
      Tensor t = Tensor::from(ctx, {3}, x);
      REQUIRE((t.buffer().allocation.mapped != nullptr) == mapped);
      CHECK(t.to_vector() == x);
      const auto messages = ctx.validation_messages();
      for (const auto& m : messages) UNSCOPED_INFO(m);
      CHECK(messages.empty());
    }
    CHECK(impl.expired());
  }
}

}  // namespace vkgrad::test
