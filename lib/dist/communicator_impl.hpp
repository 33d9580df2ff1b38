// The MPI side of vkgrad::dist::Communicator, shared by the sources of lib/dist (the only place
// that includes mpi.h).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vkgrad/dist.hpp"

namespace vkgrad::dist::detail {

struct CommunicatorImpl {
  MPI_Comm world = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD
  MPI_Comm local = MPI_COMM_NULL;  // the ranks on this machine
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  bool deterministic = false;
  // Rank-order sums: every rank's chunk, gathered.
  std::vector<float> gathered;

  // Throws CommunicationError naming `what` and MPI's message when rc is not MPI_SUCCESS.
  void check(int rc, const char* what) const;
  // Collective: throws InvalidArgument on every rank, "<what>: <mismatch> differ between ranks",
  // unless every rank passed the same values.
  void agree(std::span<const int64_t> values, const std::string& what, const char* mismatch) const;
  // Collective: InvalidArgument on every rank unless 0 <= root < size (the same on every rank).
  void check_root(int root, const std::string& what) const;
  // In place, without any check: the sum over ranks (rank order when deterministic), divided by
  // divide_by when it is not 1 (the mean: a division by N, correctly rounded, not a product by 1/N).
  void sum(std::span<float> data, int divide_by);
  // Without any check (the tensors are f32 and of one context): copies the tensors into one
  // host-visible staging buffer on the device (one submission), sums it in place over the ranks,
  // divides by divide_by (1: a plain sum) and copies it back (one submission). `staging` is reused
  // when it is large enough, else replaced. Tensors beyond 64 MiB in all go in several such rounds.
  void sum_tensors(std::span<Tensor* const> tensors, int divide_by, std::shared_ptr<vkgrad::detail::Buffer>& staging);
  // FNV-1a, to compare long descriptions (names, shapes) between ranks in one value.
  static int64_t hash(std::span<const uint8_t> bytes, int64_t seed = 0);
};

}  // namespace vkgrad::dist::detail
