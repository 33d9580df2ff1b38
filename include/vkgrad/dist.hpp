/// \file
/// Data-parallel building blocks over MPI (the optional vkgrad::dist library, CMake option
/// VKGRAD_DIST): a communicator with allreduce, broadcast and allgather of host data and tensors, the
/// device of each rank, the start-up broadcast of a model's state and the averaging of its gradients.
/// One process (rank) per device; run the program with `mpiexec -n N`. Not included by vkgrad.hpp,
/// and free of MPI types, so that code using it needs no MPI headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "vkgrad/context.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/nn/module.hpp"
#include "vkgrad/nn/optim.hpp"
#include "vkgrad/nn/replica.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::dist {

namespace detail {
struct CommunicatorImpl;
}

/// An MPI call failed (a rank died, the network failed). The message names the operation and
/// MPI's error string. The communicator should not be used afterwards.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

/// Options of a Communicator.
struct CommunicatorOptions {
  /// Sums are computed in rank order: every rank gathers every rank's values and adds them as
  /// ((x₀ + x₁) + x₂) + …, in f32. The result is then bit-identical on every rank and to that
  /// fixed-order sum at any rank count, whatever algorithm MPI would choose; it moves (N − 1)·n
  /// values to each rank instead of about 2·n. false: MPI_Allreduce (all ranks agree with each
  /// other, but the order of the additions is MPI's, and changes with the rank count).
  bool deterministic = false;
};

/// The ranks of the job (MPI_COMM_WORLD, duplicated so vkgrad's messages never mix with the
/// program's own). Creating one initialises MPI if nobody has yet; MPI is finalized when the last
/// Communicator of a process that vkgrad initialised goes away (so keep one alive for the whole
/// program: MPI cannot be initialised twice). A program that initialises MPI itself keeps that
/// responsibility. As an nn::ReplicaGroup it is what TrainerOptions::replicas and SyncBatchNorm
/// take for data-parallel training. Creating and destroying a Communicator, and every operation below, are
/// collective: every rank must call them, in the same order, with matching arguments.
///
/// Mismatched arguments between ranks (element counts, dtypes, the tensors of a bucket) are
/// detected before any data moves and throw InvalidArgument on every rank, so that no rank waits
/// forever; each such check is one extra small allreduce. MPI failures throw CommunicationError.
class Communicator : public nn::ReplicaGroup {
 public:
  /// Throws CommunicationError when MPI cannot be initialised or was already finalized.
  explicit Communicator(CommunicatorOptions options = {});
  /// Frees the duplicated communicators and finalizes MPI as described above; but while an
  /// exception unwinds the stack (a rank failed, others may be waiting for it in a collective) it
  /// leaves MPI alone, so that the process ends with its error instead of waiting forever in
  /// MPI_Finalize, and the launcher (mpirun) then stops the other ranks.
  ~Communicator() override;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  /// This process's rank, 0 to size() − 1.
  int rank() const override;
  /// Number of ranks in the job.
  int size() const override;
  /// Rank among the ranks on this machine (MPI_COMM_TYPE_SHARED), 0 to local_size() − 1, in the
  /// order of rank().
  int local_rank() const;
  /// Number of ranks on this machine.
  int local_size() const;
  /// Whether sums are computed in rank order (CommunicatorOptions::deterministic).
  bool deterministic() const;
  /// Changes CommunicatorOptions::deterministic (every rank must set the same).
  void set_deterministic(bool on);

  /// Waits until every rank has called it.
  void barrier();
  /// Ends the whole job at once: prints "rank R: <message>" to stderr (when not empty) and calls
  /// MPI_Abort with `code`, which stops every rank, including those waiting in a collective for
  /// this one. Never returns. For an application's handler of an error that this rank cannot
  /// share with the others (vkgrad itself never calls it): `catch (const std::exception& e) {
  /// comm.abort(1, e.what()); }`.
  [[noreturn]] void abort(int code, std::string_view message) const;

  /// Every rank's `data` becomes root's. InvalidArgument (on every rank) when root is out of range
  /// or the sizes differ between ranks.
  ///@{
  void broadcast(std::span<float> data, int root = 0);
  void broadcast(std::span<uint8_t> data, int root = 0) override;
  ///@}
  /// Every rank's `tensor` becomes root's (any dtype; staged through host memory). InvalidArgument
  /// (on every rank) for an empty tensor, or when dtypes or element counts differ between ranks.
  void broadcast(Tensor& tensor, int root = 0);

  /// Every rank's `data`, concatenated in rank order (size() · data.size() values). InvalidArgument
  /// (on every rank) when the sizes differ between ranks.
  ///@{
  std::vector<float> allgather(std::span<const float> data) override;
  std::vector<int64_t> allgather(std::span<const int64_t> data);
  ///@}

  /// In place: data[i] = Σ over ranks of data[i] (in rank order when deterministic()).
  /// InvalidArgument (on every rank) when the sizes differ between ranks.
  void allreduce_sum(std::span<float> data) override;
  /// In place on an f32 tensor, staged through host-visible memory as a bucket of one. InvalidArgument (on every rank)
  /// for an empty or non-f32 tensor, or different element counts between ranks.
  void allreduce_sum(Tensor& tensor);
  /// In place on several f32 tensors of one Context at once (a bucket): one submission copies them
  /// into one host-visible staging buffer, one MPI call reduces it, one submission copies it back
  /// (a bucket beyond 64 MiB goes in several such rounds). Waits for work already submitted.
  /// InvalidArgument (on every rank) for a null, empty or non-f32 tensor, tensors of different
  /// Contexts, or when the tensors' count, order or element counts differ between ranks.
  void allreduce_sum(std::span<Tensor* const> tensors);

  /// The implementation, for vkgrad's own code (lib/dist); not part of the stable API.
  detail::CommunicatorImpl& impl() const;

 private:
  std::unique_ptr<detail::CommunicatorImpl> impl_;
};

/// `base` with the device of this rank: when neither base.device nor VKGRAD_DEVICE names one, the
/// usable devices of the best type on this machine (discrete > integrated > virtual GPU > CPU, as
/// Context picks by default) are assigned round robin by local_rank() (so 8 ranks on an 8-GPU
/// machine use one GPU each). Otherwise `base` is returned unchanged. Throws SetupError, as Context
/// would, when there is no Vulkan loader or no usable device.
ContextOptions context_options(const Communicator& comm, ContextOptions base = {});

/// Makes every rank's model (parameters, buffers such as BatchNorm's running statistics and
/// num_batches_tracked, and training_state(): the Dropout step counter and seed) and, when given,
/// optimizer state root's, in one broadcast: so ranks that initialised differently start
/// identical. Synchronous. InvalidArgument (on every rank, nothing changed) when the models or
/// optimizers differ between ranks in names, dtypes or shapes, or root is out of range.
void broadcast_state(Communicator& comm, nn::Sequential& model, nn::Optimizer* optimizer = nullptr, int root = 0);

/// Options of a GradientAverager.
struct GradientAveragerOptions {
  /// Most bytes of gradients reduced in one MPI call (PyTorch DDP's bucket_cap_mb is 25 MiB); a
  /// gradient larger than this forms a bucket of its own. Must be > 0.
  std::size_t bucket_bytes = 25u << 20;
};

/// Averages every parameter gradient of a model across the ranks: grad = (Σ over ranks of grad) / N.
/// The gradients are grouped into buckets in reverse layer order (the order backward produces
/// them), each bucket copied into one host-visible staging buffer (made once, for the largest
/// bucket), reduced in one MPI call and copied back; in rank order when comm.deterministic(). The model's parameter
/// list must not change afterwards.
class GradientAverager {
 public:
  /// Plans the buckets of model.parameters(). Collective: checks that every rank has the same
  /// parameters (names and element counts), else InvalidArgument on every rank; InvalidArgument for
  /// a model without parameters, non-f32 gradients or bucket_bytes 0. comm and model must outlive it.
  GradientAverager(Communicator& comm, nn::Module& model, GradientAveragerOptions options = {});
  /// Averages the gradients as they are now (waits for the device first). Synchronous; collective.
  void average();
  /// Number of buckets, i.e. MPI reductions per average().
  std::size_t bucket_count() const { return buckets_.size(); }
  /// The gradients of each bucket, in reduction order (the last layer's first).
  const std::vector<std::vector<Tensor*>>& buckets() const { return buckets_; }

 private:
  Communicator* comm_;
  std::vector<std::vector<Tensor*>> buckets_;
  std::shared_ptr<vkgrad::detail::Buffer> staging_;  // host-visible, sized for the largest bucket
};

}  // namespace vkgrad::dist
