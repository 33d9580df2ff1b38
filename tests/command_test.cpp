// Command lists: replay, barrier tracking, timestamps, fill and copy, and state errors.
#include <catch2/catch.hpp>

#include "harness.hpp"

namespace vkgrad::test {

TEST_CASE("a recorded list replays N times with identical results", "[command]") {
  Context& ctx = context();
  const std::size_t n = 4099;
  const auto x = uniform(n, -3.0f, 3.0f, 1);
  Tensor tx = Tensor::from(ctx, {n}, x);
  Tensor ty(ctx, {n});
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::gelu, tx, ty);
  cmd.run();
  const auto first = ty.to_vector();
  for (int replay = 0; replay < 20; ++replay) {
    ty.fill(poison);
    cmd.run();
    REQUIRE(ty.to_vector() == first);
  }
  CHECK(cmd.dispatch_count() == 1);
  require_no_validation_messages();
}

TEST_CASE("replays see inputs uploaded between submissions", "[command]") {
  Context& ctx = context();
  Tensor tx(ctx, {64});
  Tensor ty(ctx, {64});
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::relu, tx, ty);
  for (float v : {1.0f, -2.0f, 3.5f}) {
    tx.fill(v);
    cmd.run();
    for (float y : ty.to_vector()) REQUIRE(y == std::max(v, 0.0f));
  }
  require_no_validation_messages();
}

TEST_CASE("a chain of 50 dependent dispatches is correct and fenced by exactly 49 barriers", "[command]") {
  Context& ctx = context();
  const std::size_t n = 100003;
  const auto x = uniform(n, -1.0f, 1.0f, 2);
  Tensor a = Tensor::from(ctx, {n}, x);
  Tensor b(ctx, {n});
  b.fill(poison);
  CommandList cmd(ctx);
  // a -> b -> a -> ...: each step reads what the previous one wrote (read-after-write) and
  // overwrites what the one before it read (write-after-read). The first step takes |x|, the rest
  // copy, so a missing barrier shows up as stale or poisoned values at the end.
  const ActivationSpec absolute(Activation::leaky_relu, -1.0f);    // x > 0 ? x : -x
  const ActivationSpec pass(Activation::threshold, -1e30f, 0.0f);  // x > -1e30 ? x : 0
  for (int i = 0; i < 50; ++i) {
    const Tensor& src = i % 2 == 0 ? a : b;
    Tensor& dst = i % 2 == 0 ? b : a;
    activation_forward(cmd, i == 0 ? absolute : pass, src, dst);
  }
  CHECK(cmd.barrier_count() == 49);
  cmd.run();
  // 50 steps end in a (even count): |x| after the first step, identity after.
  const auto out = a.to_vector();
  for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i] == std::fabs(x[i]));
  require_no_validation_messages();
}

TEST_CASE("independent dispatches get no barrier, a hazard gets exactly one", "[command]") {
  Context& ctx = context();
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 8; ++i) {
    xs.push_back(Tensor::from(ctx, {1000}, uniform(1000, -1, 1, i)));
    ys.emplace_back(ctx, Shape{1000});
  }
  CommandList cmd(ctx);
  for (int i = 0; i < 8; ++i) activation_forward(cmd, Activation::sigmoid, xs[i], ys[i]);
  CHECK(cmd.barrier_count() == 0);
  activation_forward(cmd, Activation::tanh, xs[0], ys[0]);  // write-after-write on ys[0]
  CHECK(cmd.barrier_count() == 1);
  activation_forward(cmd, Activation::tanh, xs[1], xs[2]);  // the barrier ordered the earlier read of xs[2]
  CHECK(cmd.barrier_count() == 1);
  activation_forward(cmd, Activation::tanh, xs[2], ys[3]);  // read-after-write on xs[2]
  CHECK(cmd.barrier_count() == 2);
  cmd.run();
  const auto x0 = xs[0].to_vector();
  const auto y0 = ys[0].to_vector();
  for (std::size_t i = 0; i < x0.size(); ++i) REQUIRE(y0[i] == Approx(std::tanh(double(x0[i]))).margin(1e-6));
  require_no_validation_messages();
}

TEST_CASE("fill and copy are recorded with the right barriers", "[command]") {
  Context& ctx = context();
  Tensor a(ctx, {300});
  Tensor b(ctx, {300});
  Tensor c(ctx, {300});
  CommandList cmd(ctx);
  cmd.fill(a, -4.0f);
  activation_forward(cmd, Activation::relu6, a, b);  // RAW after a transfer write
  cmd.copy(b, c);                                    // RAW
  cmd.fill(a, 9.0f);                                 // WAR on a
  activation_forward(cmd, Activation::relu6, a, a);  // in place after fill
  cmd.run();
  for (float v : b.to_vector()) REQUIRE(v == 0.0f);
  for (float v : c.to_vector()) REQUIRE(v == 0.0f);
  for (float v : a.to_vector()) REQUIRE(v == 6.0f);
  CHECK_THROWS_AS(cmd.copy(a, a), InvalidArgument);
  require_no_validation_messages();
}

TEST_CASE("a barrier for one hazard also orders earlier writes before later commands of the other stage", "[command]") {
  // The tracker forgets every access once it has inserted a barrier, so that barrier must reach
  // every stage: here the barrier before the second dispatch (a write-after-read on x) must also
  // make the first dispatch's write of y visible to the copy (a transfer) that reads it, and the
  // barrier before the fill (a transfer) must make the copy's write visible to the last dispatch.
  Context& ctx = context();
  const std::size_t n = 4099;
  Tensor x = Tensor::from(ctx, {n}, std::vector<float>(n, -2.0f));
  Tensor y(ctx, {n}), z(ctx, {n}), w(ctx, {n}), v(ctx, {n});
  CommandList cmd(ctx);
  activation_forward(cmd, Activation::relu6, x, y);  // writes y
  activation_forward(cmd, Activation::elu, z, x);    // WAR on x: barrier
  cmd.copy(y, w);                                    // reads y, written before that barrier
  cmd.fill(z, 1.0f);                                 // WAR on z: barrier
  activation_forward(cmd, Activation::relu6, w, v);  // reads w, written before that barrier
  y.fill(poison);
  w.fill(poison);
  v.fill(poison);
  cmd.run();
  CHECK(cmd.barrier_count() == 2);
  for (float e : v.to_vector()) REQUIRE(e == 0.0f);
  require_no_validation_messages();
}

TEST_CASE("recording after submit, mismatched shapes and foreign tensors are refused", "[command]") {
  Context& ctx = context();
  Tensor x(ctx, {10});
  Tensor y(ctx, {11});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(activation_forward(cmd, Activation::relu, x, y),
                    Catch::Contains("[10]") && Catch::Contains("[11]"));
  Tensor labels(ctx, {10}, DType::i32);
  CHECK_THROWS_WITH(activation_forward(cmd, Activation::relu, labels, x), Catch::Contains("i32"));
  Tensor z(ctx, {10});
  activation_forward(cmd, Activation::relu, x, z);
  cmd.run();
  CHECK_THROWS_WITH(activation_forward(cmd, Activation::relu, x, z), Catch::Contains("reset()"));
  cmd.reset();
  CHECK(cmd.recording());
  CHECK(cmd.dispatch_count() == 0);

  Context other(ContextOptions{}.set_pipeline_cache(false));
  Tensor foreign(other, {10});
  CHECK_THROWS_WITH(activation_forward(cmd, Activation::relu, foreign, z), Catch::Contains("another Context"));
  Tensor empty;
  CHECK_THROWS_AS(activation_forward(cmd, Activation::relu, empty, z), InvalidArgument);
  require_no_validation_messages();
}

TEST_CASE("tensors stay alive while a command list uses them", "[command]") {
  Context& ctx = context();
  CommandList cmd(ctx);
  Tensor out(ctx, {512});
  {
    Tensor in = Tensor::from(ctx, {512}, std::vector<float>(512, -1.0f));
    activation_forward(cmd, Activation::elu, in, out);
  }  // `in` is gone; the list still holds its buffer
  cmd.run();
  cmd.run();
  for (float v : out.to_vector()) REQUIRE(v == Approx(std::expm1(-1.0)).epsilon(1e-6));
  require_no_validation_messages();
}

TEST_CASE("GPU timestamps time every dispatch", "[command]") {
  Context& ctx = context();
  if (!ctx.device().timestamps) {
    CHECK_THROWS_AS(CommandList(ctx, CommandListOptions{}.set_timestamps(true)), UnsupportedError);
    return;
  }
  Tensor x(ctx, {1 << 16});
  x.fill(0.25f);
  Tensor y(ctx, {1 << 16});
  CommandList cmd(ctx, CommandListOptions{}.set_timestamps(true));
  for (int i = 0; i < 300; ++i) activation_forward(cmd, i % 2 ? Activation::tanh : Activation::sigmoid, x, y);
  CHECK_THROWS_AS(cmd.timings(), InvalidArgument);  // nothing completed yet
  cmd.run();
  const auto timings = cmd.timings();
  REQUIRE(timings.size() == 300);
  CHECK_THAT(timings[0].label, Catch::Contains("sigmoid"));
  CHECK_THAT(timings[1].label, Catch::Contains("tanh"));
  for (const auto& t : timings) CHECK(t.milliseconds >= 0.0);
  require_no_validation_messages();
  CommandList plain(ctx);
  CHECK_THROWS_AS(plain.timings(), InvalidArgument);
}

}  // namespace vkgrad::test
