// Two threads recording and submitting their own command lists on one shared context (the use
// docs/design.md documents as supported): every result must be right, and the validation layer
// (which checks external synchronization of queues and pools) must stay silent.
#include <catch2/catch.hpp>

#include <thread>

#include "harness.hpp"

namespace vkgrad::test {

TEST_CASE("two threads record and submit command lists on one context", "[context][concurrency]") {
  Context& ctx = context();
  constexpr int kThreads = 2, kRounds = 25;
  const std::size_t n = 4099;
  std::vector<std::string> failures(kThreads);
  auto worker = [&](int id) {
    try {
      const auto xs = uniform(n, -3, 3, 100 + id);
      Tensor x = Tensor::from(ctx, {n}, xs), y(ctx, {n}), s(ctx, {1});
      ReduceWorkspace ws(ctx);
      for (int round = 0; round < kRounds; ++round) {
        y.fill(poison);
        CommandList cmd(ctx);
        activation_forward(cmd, Activation::relu, x, y);
        reduce_all(cmd, ReduceOp::sum, y, s, ws);
        cmd.run();
        const auto out = y.to_vector();
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const float want = xs[i] > 0 ? xs[i] : 0.0f;
          if (out[i] != want) throw std::runtime_error("relu wrong at " + std::to_string(i));
          sum += want;
        }
        if (std::fabs(s.to_vector()[0] - sum) > 1e-4 * sum) throw std::runtime_error("sum wrong");
      }
    } catch (const std::exception& e) {
      failures[id] = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(failures[t].empty());
  }
  require_no_validation_messages();
}

}  // namespace vkgrad::test
