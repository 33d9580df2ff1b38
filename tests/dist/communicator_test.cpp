// vkgrad::dist::Communicator: ranks, collectives of host data and tensors against sums computed
// locally, the rank-order (deterministic) sum, and mismatched arguments between ranks.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "dist_harness.hpp"
#include "values.hpp"

namespace vkgrad::dist::test {
namespace {

// Awkward sizes, one above 1M elements.
const std::vector<uint64_t> sizes = {1, 7, 257, (uint64_t{1} << 20) + 3};

// Restores the communicator's mode when a test changes it.
struct DeterministicScope {
  explicit DeterministicScope(bool on) : saved(communicator().deterministic()) { communicator().set_deterministic(on); }
  ~DeterministicScope() { communicator().set_deterministic(saved); }
  bool saved;
};

TEST_CASE("rank, size and local rank describe the job", "[dist]") {
  Communicator& comm = communicator();
  REQUIRE(comm.size() >= 1);
  CHECK(comm.rank() >= 0);
  CHECK(comm.rank() < comm.size());
  // Every rank of the test runs on this machine, in rank order.
  CHECK(comm.local_size() == comm.size());
  CHECK(comm.local_rank() == comm.rank());
  const std::vector<int64_t> mine = {comm.rank(), comm.local_rank(), comm.size()};
  const std::vector<int64_t> all = comm.allgather(std::span<const int64_t>(mine));
  REQUIRE(all.size() == 3 * static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    CHECK(all[3 * r] == r);
    CHECK(all[3 * r + 1] == r);
    CHECK(all[3 * r + 2] == comm.size());
  }
  // OpenMPI's own view, where mpiexec is OpenMPI's.
  if (const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) CHECK(comm.local_rank() == std::atoi(local));
  // A second Communicator reuses the initialised MPI and sees the same job.
  Communicator second;
  CHECK(second.rank() == comm.rank());
  CHECK(second.size() == comm.size());
  second.barrier();
}

TEST_CASE("allreduce_sum of host data equals the sum over ranks", "[dist]") {
  Communicator& comm = communicator();
  for (bool deterministic : {false, true}) {
    DeterministicScope scope(deterministic);
    for (uint64_t n : sizes) {
      INFO("n = " << n << ", deterministic = " << deterministic);
      std::vector<float> data = rank_values(exact_value, comm.rank(), n);
      comm.allreduce_sum(std::span<float>(data));
      CHECK(same_bits(data, rank_order_sum(exact_value, comm.size(), n)));
    }
  }
}

TEST_CASE("allreduce_sum of tensors, one and in a bucket, equals the sum over ranks", "[dist]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  for (bool deterministic : {false, true}) {
    DeterministicScope scope(deterministic);
    std::vector<Tensor> tensors;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      tensors.push_back(Tensor::from(ctx, {sizes[k]}, rank_values(exact_value, comm.rank(), sizes[k], k)));
    }
    comm.allreduce_sum(tensors[1]);
    CHECK(same_bits(tensors[1].to_vector(), rank_order_sum(exact_value, comm.size(), sizes[1], 1)));
    // The others in one bucket; tensors[1] goes twice through the sum across ranks.
    std::vector<Tensor*> bucket = {&tensors[3], &tensors[0], &tensors[2]};
    comm.allreduce_sum(std::span<Tensor* const>(bucket));
    for (std::size_t k : {0, 2, 3}) {
      INFO("n = " << sizes[k] << ", deterministic = " << deterministic);
      CHECK(same_bits(tensors[k].to_vector(), rank_order_sum(exact_value, comm.size(), sizes[k], k)));
    }
  }
}

TEST_CASE("allreduce_sum of a bucket beyond 64 MiB reduces it in several rounds", "[dist]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  // 36 MiB, 36 MiB and 4 bytes: the first two together would exceed 64 MiB, so two rounds (the
  // second with a larger staging buffer than the first).
  const std::vector<uint64_t> counts = {9u << 20, 9u << 20, 1};
  std::vector<Tensor> tensors;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    tensors.push_back(Tensor::from(ctx, {counts[k]}, rank_values(exact_value, comm.rank(), counts[k], k)));
  }
  std::vector<Tensor*> bucket = {&tensors[0], &tensors[1], &tensors[2]};
  comm.allreduce_sum(std::span<Tensor* const>(bucket));
  for (std::size_t k = 0; k < counts.size(); ++k) {
    INFO("tensor " << k);
    CHECK(same_bits(tensors[k].to_vector(), rank_order_sum(exact_value, comm.size(), counts[k], k)));
  }
}

TEST_CASE("allreduce_sum stages tensors the host cannot map and refuses tensors of two contexts", "[dist]") {
  Communicator& comm = communicator();
  // Tensors in device-local memory only, as on discrete GPUs: the bucket is staged on the device.
  ContextOptions options = context_options(comm);
  options.mapped_tensors = false;
  Context unmapped(options);
  std::vector<Tensor> tensors;
  for (std::size_t k = 0; k < 3; ++k) {
    tensors.push_back(Tensor::from(unmapped, {sizes[k]}, rank_values(exact_value, comm.rank(), sizes[k], k)));
  }
  std::vector<Tensor*> bucket = {&tensors[0], &tensors[1], &tensors[2]};
  comm.allreduce_sum(std::span<Tensor* const>(bucket));
  for (std::size_t k = 0; k < 3; ++k) {
    INFO("n = " << sizes[k]);
    CHECK(same_bits(tensors[k].to_vector(), rank_order_sum(exact_value, comm.size(), sizes[k], k)));
  }
  Tensor other = Tensor::from(context(), {7}, rank_values(exact_value, comm.rank(), 7));
  std::vector<Tensor*> mixed = {&tensors[1], &other};
  CHECK_THROWS_WITH(comm.allreduce_sum(std::span<Tensor* const>(mixed)), Catch::Contains("another Context"));
  CHECK(unmapped.validation_messages().empty());
}

// Run at 2, 3 and 4 ranks (tests/dist/CMakeLists.txt): MPI_Allreduce's order of additions is its
// own and changes with the rank count, the deterministic mode's is always rank order.
TEST_CASE("the deterministic sum is bit-identical to the rank-order sum, on every rank", "[dist][deterministic]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  DeterministicScope scope(true);
  for (uint64_t n : sizes) {
    INFO("n = " << n << ", ranks = " << comm.size());
    const std::vector<float> expected = rank_order_sum(mixed_value, comm.size(), n);
    std::vector<float> host = rank_values(mixed_value, comm.rank(), n);
    comm.allreduce_sum(std::span<float>(host));
    CHECK(same_bits(host, expected));
    Tensor tensor = Tensor::from(ctx, {n}, rank_values(mixed_value, comm.rank(), n));
    comm.allreduce_sum(tensor);
    const std::vector<float> result = tensor.to_vector();
    CHECK(same_bits(result, expected));
    // The same bits on every rank.
    const std::vector<float> all = comm.allgather(std::span<const float>(result));
    for (int r = 0; r < comm.size(); ++r) {
      CHECK(std::memcmp(all.data() + r * n, result.data(), n * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("broadcast copies root's host data and tensors to every rank", "[dist]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  for (int root : {0, comm.size() - 1}) {
    for (uint64_t n : {uint64_t{1}, uint64_t{257}}) {
      INFO("root = " << root << ", n = " << n);
      std::vector<float> host = rank_values(mixed_value, comm.rank(), n);
      comm.broadcast(std::span<float>(host), root);
      CHECK(same_bits(host, rank_values(mixed_value, root, n)));
      Tensor tensor = Tensor::from(ctx, {n}, rank_values(mixed_value, comm.rank(), n, 5));
      comm.broadcast(tensor, root);
      CHECK(same_bits(tensor.to_vector(), rank_values(mixed_value, root, n, 5)));
      std::vector<int32_t> labels(n, comm.rank() + 1);
      Tensor ints = Tensor::from<int32_t>(ctx, {n}, labels);
      comm.broadcast(ints, root);
      CHECK(ints.to_vector<int32_t>() == std::vector<int32_t>(n, root + 1));
    }
  }
}

TEST_CASE("allgather concatenates every rank's data in rank order", "[dist]") {
  Communicator& comm = communicator();
  const std::vector<float> mine = rank_values(mixed_value, comm.rank(), 7);
  const std::vector<float> all = comm.allgather(std::span<const float>(mine));
  std::vector<float> expected;
  for (int r = 0; r < comm.size(); ++r) {
    const std::vector<float> theirs = rank_values(mixed_value, r, 7);
    expected.insert(expected.end(), theirs.begin(), theirs.end());
  }
  CHECK(same_bits(all, expected));
}

TEST_CASE("mismatched or invalid arguments throw on every rank, and the communicator stays usable", "[dist]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  if (comm.size() > 1) {
    std::vector<float> uneven(1 + comm.rank(), 1.0f);
    CHECK_THROWS_WITH(comm.allreduce_sum(std::span<float>(uneven)), Catch::Contains("differ between ranks"));
    CHECK_THROWS_AS(comm.broadcast(std::span<float>(uneven)), InvalidArgument);
    CHECK_THROWS_AS(comm.allgather(std::span<const float>(uneven)), InvalidArgument);
    Tensor uneven_tensor(ctx, {1 + static_cast<uint64_t>(comm.rank())});
    uneven_tensor.fill(1.0f);
    CHECK_THROWS_AS(comm.allreduce_sum(uneven_tensor), InvalidArgument);
    CHECK_THROWS_AS(comm.broadcast(uneven_tensor), InvalidArgument);
    // Different roots.
    std::vector<float> one(1, 1.0f);
    CHECK_THROWS_WITH(comm.broadcast(std::span<float>(one), comm.rank()), Catch::Contains("roots"));
    // A bucket missing a tensor on one rank.
    Tensor a(ctx, {3}), b(ctx, {3});
    a.fill(1.0f);
    b.fill(1.0f);
    std::vector<Tensor*> bucket = {&a, &b};
    if (comm.rank() == 0) bucket.pop_back();
    CHECK_THROWS_AS(comm.allreduce_sum(std::span<Tensor* const>(bucket)), InvalidArgument);
  }
  std::vector<float> one(1, 1.0f);
  CHECK_THROWS_WITH(comm.broadcast(std::span<float>(one), comm.size()), Catch::Contains("is not a rank"));
  CHECK_THROWS_AS(comm.broadcast(std::span<float>(one), -1), InvalidArgument);
  Tensor labels(ctx, {4}, DType::i32);
  labels.fill(1.0f);
  CHECK_THROWS_WITH(comm.allreduce_sum(labels), Catch::Contains("only f32"));
  Tensor empty;
  CHECK_THROWS_WITH(comm.allreduce_sum(empty), Catch::Contains("empty"));
  CHECK_THROWS_AS(comm.broadcast(empty), InvalidArgument);
  std::vector<Tensor*> with_null = {nullptr};
  CHECK_THROWS_WITH(comm.allreduce_sum(std::span<Tensor* const>(with_null)), Catch::Contains("null"));
  // Nothing was left half-done: the next collective works.
  std::vector<float> ones(5, 1.0f);
  comm.allreduce_sum(std::span<float>(ones));
  CHECK(ones == std::vector<float>(5, static_cast<float>(comm.size())));
}

TEST_CASE("context_options picks a device by local rank unless one is named", "[dist]") {
  Communicator& comm = communicator();
  ContextOptions named;
  named.device = "0";
  CHECK(context_options(comm, named).device == "0");
  const char* env = std::getenv("VKGRAD_DEVICE");
  if (env != nullptr && *env != '\0') {
    CHECK(context_options(comm).device.empty());
  } else {
    const std::string device = context_options(comm).device;
    REQUIRE_FALSE(device.empty());
    // The chosen device is usable and of the type Context picks by default.
    const std::vector<DeviceInfo> devices = list_devices();
    const DeviceInfo& chosen = devices.at(std::stoul(device));
    CHECK(chosen.usable);
    CHECK(chosen.type == Context(ContextOptions{.validation = false}).device().type);
    CHECK(context().device().index == chosen.index);
  }
}

}  // namespace
}  // namespace vkgrad::dist::test
