// nn::SyncBatchNorm over real ranks: a model with SyncBatchNorm trained on every rank's slice of each
// global batch, gradients averaged by GradientAverager, against the same model with BatchNorm1d on
// the whole batch, which each rank trains itself as the one-process reference.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../sync_batchnorm_training.hpp"
#include "dist_harness.hpp"

namespace vkgrad::dist::test {
namespace {

using namespace vkgrad::test::sync_bn_training;

void check_ranks_match_one_batch(bool adam) {
  Communicator& comm = communicator();
  Context& ctx = context();
  REQUIRE(kBatch % static_cast<std::size_t>(comm.size()) == 0);
  const int steps = 10;
  auto reference = small_model(ctx, false);
  const auto expected = train(ctx, *reference, adam, 0, kBatch, steps, {});

  const std::size_t rows = kBatch / static_cast<std::size_t>(comm.size());
  const std::size_t first = rows * static_cast<std::size_t>(comm.rank());
  auto model = small_model(ctx, true);
  model->set_replica_rows({&comm, first, kBatch});
  GradientAverager averager(comm, *model);
  const auto got = train(ctx, *model, adam, first, rows, steps, [&] { averager.average(); });

  REQUIRE(got.size() == expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    INFO(expected[k].first << " on rank " << comm.rank() << " of " << comm.size());
    CHECK(got[k].first == expected[k].first);
    const auto& g = got[k].second;
    const auto& e = expected[k].second;
    std::size_t bad = 0;
    // Float reassociation only (sums split over the ranks): 1e-5 relative, 1e-6 absolute.
    for (std::size_t i = 0; i < e.size(); ++i) bad += !(std::fabs(g[i] - e[i]) <= 1e-6 + 1e-5 * std::fabs(e[i]));
    CHECK(bad == 0);
    // Every rank holds the same bits: gathered, each rank's copy equals this one's.
    const auto all = comm.allgather(std::span<const float>(g));
    for (int r = 0; r < comm.size(); ++r) {
      CHECK(std::memcmp(all.data() + static_cast<std::size_t>(r) * g.size(), g.data(), g.size() * sizeof(float)) == 0);
    }
  }
}

}  // namespace

TEST_CASE("SyncBatchNorm over the ranks trains as one model on the full batch", "[dist][deterministic][syncbn]") {
  SECTION("SGD with momentum") { check_ranks_match_one_batch(false); }
  SECTION("Adam") { check_ranks_match_one_batch(true); }
}

}  // namespace vkgrad::dist::test
