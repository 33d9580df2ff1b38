// The model-level building blocks: broadcast_state makes differently initialised ranks identical,
// GradientAverager averages every gradient across ranks.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "dist_harness.hpp"
#include "values.hpp"

namespace vkgrad::dist::test {
namespace {

constexpr uint64_t in_features = 13, hidden = 33, classes = 7, batch = 5;

// Linear → BatchNorm1d → ReLU → Dropout → Linear, with its Adam optimizer.
struct Replica {
  std::unique_ptr<nn::Sequential> model;
  std::unique_ptr<nn::Adam> optimizer;
};

// A replica initialised from `seed`, whose BatchNorm statistics, gradients and Adam state then
// come from one training-mode forward pass and one step on data of `data_rank`.
Replica make_replica(uint64_t seed, int data_rank, uint64_t width = hidden) {
  Context& ctx = context();
  Replica r;
  r.model = std::make_unique<nn::Sequential>(ctx);
  r.model->emplace<nn::Linear>(in_features, width);
  r.model->emplace<nn::BatchNorm1d>(width);
  r.model->emplace<nn::Activation>(Activation::relu);
  r.model->emplace<nn::Dropout>(0.25f);
  r.model->emplace<nn::Linear>(width, classes);
  r.optimizer = std::make_unique<nn::Adam>(*r.model, AdamOptions{.lr = 1e-2f});
  CommandList cmd(ctx);
  r.model->reset_parameters(cmd, seed);
  Tensor x = Tensor::from(ctx, {batch, in_features}, rank_values(mixed_value, data_rank, batch * in_features));
  Tensor y(ctx, {batch, classes});
  r.model->forward(cmd, x, y);
  cmd.run();
  uint64_t salt = 0;
  for (const nn::Parameter& p : r.model->parameters()) {
    p.grad->upload(std::span<const float>(rank_values(mixed_value, data_rank, p.grad->numel(), ++salt)));
  }
  CommandList step(ctx);
  r.optimizer->record_step(step);
  step.run();
  return r;
}

// Every byte of the model's state_dict and training_state and of the optimizer's state, with the
// names, as one string.
std::string all_state(Replica& r) {
  std::string out;
  for (const auto& part : {r.model->state_dict(), r.model->training_state(), r.optimizer->state_dict()}) {
    for (const auto& [name, t] : part) {
      out += name + '=';
      out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    }
  }
  return out;
}

// FNV-1a of a string, to compare states between ranks with one allgather.
int64_t fingerprint(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return static_cast<int64_t>(h);
}

TEST_CASE("broadcast_state overrides different initial weights, buffers and optimizer state", "[dist]") {
  Communicator& comm = communicator();
  REQUIRE(comm.size() > 1);
  for (int root : {0, comm.size() - 1}) {
    INFO("root = " << root);
    Replica mine = make_replica(100 + comm.rank(), comm.rank());
    const int64_t before = fingerprint(all_state(mine));
    const std::vector<int64_t> before_all = comm.allgather(std::span<const int64_t>(&before, 1));
    CHECK(before_all[0] != before_all[1]);  // the ranks start different

    broadcast_state(comm, *mine.model, mine.optimizer.get(), root);
    // Root's state, bit for bit: rebuilt here from root's seed and data.
    Replica roots = make_replica(100 + root, root);
    CHECK(all_state(mine) == all_state(roots));
    CHECK(mine.model->dropout_seed() == roots.model->dropout_seed());
    const int64_t after = fingerprint(all_state(mine));
    for (int64_t f : comm.allgather(std::span<const int64_t>(&after, 1))) CHECK(f == after);
  }
}

TEST_CASE("broadcast_state without an optimizer, and with models that differ between ranks", "[dist]") {
  Communicator& comm = communicator();
  REQUIRE(comm.size() > 1);
  Replica mine = make_replica(7 + comm.rank(), comm.rank());
  broadcast_state(comm, *mine.model);
  Replica roots = make_replica(7, 0);
  for (const auto& [name, t] : mine.model->state_dict()) {
    INFO(name);
    bool found = false;
    for (const auto& [root_name, root_t] : roots.model->state_dict()) {
      if (root_name == name) {
        found = true;
        CHECK(t.bytes == root_t.bytes);
      }
    }
    CHECK(found);
  }
  // A wider hidden layer on the last rank: refused everywhere, nothing changed.
  Replica uneven = make_replica(3 + comm.rank(), comm.rank(), comm.rank() == comm.size() - 1 ? hidden + 1 : hidden);
  const std::string state = all_state(uneven);
  CHECK_THROWS_WITH(broadcast_state(comm, *uneven.model, uneven.optimizer.get()), Catch::Contains("differ"));
  CHECK(all_state(uneven) == state);
  // An optimizer on some ranks only.
  CHECK_THROWS_AS(broadcast_state(comm, *uneven.model, comm.rank() == 0 ? uneven.optimizer.get() : nullptr),
                  InvalidArgument);
  CHECK_THROWS_AS(broadcast_state(comm, *mine.model, nullptr, comm.size()), InvalidArgument);
}

TEST_CASE("GradientAverager averages every gradient across ranks in reverse-layer buckets", "[dist][deterministic]") {
  Communicator& comm = communicator();
  const bool saved = comm.deterministic();
  for (bool deterministic : {false, true}) {
    INFO("deterministic = " << deterministic << ", ranks = " << comm.size());
    comm.set_deterministic(deterministic);
    Replica mine = make_replica(1, 0);
    const std::vector<nn::Parameter> params = mine.model->parameters();
    // Buckets of at most 1 KiB: the 33x13 weight (1716 bytes) alone, the small vectors together.
    GradientAverager averager(comm, *mine.model, GradientAveragerOptions{.bucket_bytes = 1024});
    CHECK(averager.bucket_count() > 1);
    CHECK(averager.buckets().front().front() == params.back().grad);  // the last layer first
    std::size_t in_buckets = 0;
    for (const auto& bucket : averager.buckets()) in_buckets += bucket.size();
    CHECK(in_buckets == params.size());

    uint64_t salt = 0;
    for (const nn::Parameter& p : params) {
      p.grad->upload(std::span<const float>(rank_values(mixed_value, comm.rank(), p.grad->numel(), ++salt)));
    }
    averager.average();
    salt = 0;
    for (const nn::Parameter& p : params) {
      INFO(p.name);
      const uint64_t n = p.grad->numel();
      std::vector<float> expected = rank_order_sum(mixed_value, comm.size(), n, ++salt);
      for (float& v : expected) v /= static_cast<float>(comm.size());
      const std::vector<float> got = p.grad->to_vector();
      if (deterministic) {
        CHECK(same_bits(got, expected));
      } else {
        // MPI's order of additions is its own. Any order of the N - 1 additions is within
        // (N - 1)·2^-24·Σ|x| of the exact sum, so two orders within 2(N - 1)·2^-24·Σ|x|; after the
        // division by N (one more rounding each) that is below 2^-22·Σ|x|.
        for (uint64_t i = 0; i < n; ++i) {
          double magnitude = 0;
          for (int r = 0; r < comm.size(); ++r) magnitude += std::abs(mixed_value(r, i, salt));
          CHECK(std::abs(got[i] - expected[i]) <= magnitude * std::ldexp(1.0, -22));
        }
      }
    }
  }
  comm.set_deterministic(saved);
}

TEST_CASE("GradientAverager refuses models that differ between ranks and bad options", "[dist]") {
  Communicator& comm = communicator();
  REQUIRE(comm.size() > 1);
  Replica uneven = make_replica(1, 0, comm.rank() == 0 ? hidden : hidden + 2);
  CHECK_THROWS_WITH(GradientAverager(comm, *uneven.model), Catch::Contains("differ between ranks"));
  Replica same = make_replica(1, 0);
  CHECK_THROWS_WITH(GradientAverager(comm, *same.model, GradientAveragerOptions{.bucket_bytes = 0}),
                    Catch::Contains("bucket_bytes"));
  nn::Sequential empty(context());
  empty.emplace<nn::Activation>(Activation::relu);
  CHECK_THROWS_WITH(GradientAverager(comm, empty), Catch::Contains("no parameters"));
}

}  // namespace
}  // namespace vkgrad::dist::test
