// vkgrad::dist::Communicator over MPI: lifetime, agreement checks and the collectives.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>

#include "communicator_impl.hpp"
#include "context_impl.hpp"
#include "memory.hpp"
#include "vkgrad/safetensors.hpp"

namespace vkgrad::dist {

namespace {

// MPI's lifetime in this process: MPI can be initialised and finalized once, so vkgrad finalizes
// only what it initialised, when its last Communicator goes.
std::mutex lifetime_mutex;
int live_communicators = 0;
bool initialised_by_vkgrad = false;

// Elements per MPI call: counts are int, and large messages are split into chunks of this size.
constexpr std::size_t max_chunk = std::size_t{1} << 30;
// Elements per rank and per allgather of a rank-order sum, so that the gathered chunks of all
// ranks together stay within 64 MiB of host memory.
constexpr std::size_t gathered_budget = std::size_t{16} << 20;
// Bytes of tensors staged and reduced at once by allreduce_sum (a larger tensor goes alone).
constexpr std::size_t max_round_bytes = std::size_t{64} << 20;

std::string error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(text, static_cast<std::size_t>(length));
}

// Frees c's communicators and, with the last Communicator, finalizes MPI if vkgrad initialised it.
void release(detail::CommunicatorImpl& c) {
  if (c.local != MPI_COMM_NULL) MPI_Comm_free(&c.local);
  if (c.world != MPI_COMM_NULL) MPI_Comm_free(&c.world);
  std::lock_guard lock(lifetime_mutex);
  if (--live_communicators == 0 && initialised_by_vkgrad) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    initialised_by_vkgrad = false;
  }
}

}  // namespace

namespace detail {

void CommunicatorImpl::check(int rc, const char* what) const {
  if (rc != MPI_SUCCESS)
    throw CommunicationError(std::string("vkgrad::dist: ") + what + " failed: " + error_string(rc));
}

void CommunicatorImpl::agree(std::span<const int64_t> values, const std::string& what, const char* mismatch) const {
  // One MPI_MAX over (v, ~v): the maximum of ~v is ~(the minimum of v), so every rank learns both
  // extremes and decides the same way.
  std::vector<int64_t> extremes(values.begin(), values.end());
  for (int64_t v : values) extremes.push_back(~v);
  check(MPI_Allreduce(MPI_IN_PLACE, extremes.data(), static_cast<int>(extremes.size()), MPI_INT64_T, MPI_MAX, world),
        "MPI_Allreduce (argument check)");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (extremes[i] != values[i] || ~extremes[values.size() + i] != values[i]) {
      throw InvalidArgument("vkgrad::dist::" + what + ": " + mismatch +
                            " differ between ranks; every rank must pass the same (rank " + std::to_string(rank) +
                            " of " + std::to_string(size) + ")");
    }
  }
}

void CommunicatorImpl::check_root(int root, const std::string& what) const {
  const int64_t value = root;
  agree(std::span<const int64_t>(&value, 1), what, "the roots");
  if (root < 0 || root >= size) {
    throw InvalidArgument("vkgrad::dist::" + what + ": root " + std::to_string(root) + " is not a rank (0 to " +
                          std::to_string(size - 1) + ")");
  }
}

void CommunicatorImpl::sum(std::span<float> data, int divide_by) {
  if (!deterministic) {
    for (std::size_t offset = 0; offset < data.size(); offset += max_chunk) {
      const auto count = static_cast<int>(std::min(max_chunk, data.size() - offset));
      check(MPI_Allreduce(MPI_IN_PLACE, data.data() + offset, count, MPI_FLOAT, MPI_SUM, world), "MPI_Allreduce");
    }
  } else {
    // Every rank gathers every rank's chunk and adds them in rank order, so the result does not
    // depend on MPI's reduction algorithm.
    const std::size_t chunk = std::max<std::size_t>(1, std::min(max_chunk, gathered_budget / size));
    for (std::size_t offset = 0; offset < data.size(); offset += chunk) {
      const std::size_t count = std::min(chunk, data.size() - offset);
      gathered.resize(count * size);
      check(MPI_Allgather(data.data() + offset, static_cast<int>(count), MPI_FLOAT, gathered.data(),
                          static_cast<int>(count), MPI_FLOAT, world),
            "MPI_Allgather (rank-order sum)");
      for (std::size_t i = 0; i < count; ++i) {
        float total = gathered[i];
        for (int r = 1; r < size; ++r) total += gathered[r * count + i];
        data[offset + i] = total;
      }
    }
  }
  if (divide_by != 1) {
    const auto n = static_cast<float>(divide_by);
    for (float& v : data) v /= n;
  }
}

void CommunicatorImpl::sum_tensors(std::span<Tensor* const> tensors, int divide_by,
                                   std::shared_ptr<vkgrad::detail::Buffer>& staging) {
  for (std::size_t first = 0; first < tensors.size();) {
    // One round: tensors up to 64 MiB in all (or one larger tensor).
    std::size_t end = first, bytes = 0;
    while (end < tensors.size() && (end == first || bytes + tensors[end]->size_bytes() <= max_round_bytes)) {
      bytes += tensors[end++]->size_bytes();
    }
    const std::span<Tensor* const> round = tensors.subspan(first, end - first);
    first = end;
    vkgrad::detail::ContextImpl& ctx = *round.front()->buffer().context;
    if (!staging || staging->size < bytes || staging->context.get() != &ctx) {
      staging.reset();
      staging = std::make_shared<vkgrad::detail::Buffer>(round.front()->buffer().context, bytes,
                                                         vkgrad::detail::MemoryUsage::staging);
    }
    const vk::Buffer host = *staging->buffer;
    const auto copy_all = [&](bool to_host) {
      std::lock_guard lock(ctx.transfer_mutex);
      ctx.run_once([&](vk::raii::CommandBuffer& cb) {
        vk::DeviceSize offset = 0;
        for (const Tensor* t : round) {
          const vk::Buffer device = *t->buffer().buffer;
          if (to_host) {
            cb.copyBuffer(device, host, vk::BufferCopy(0, offset, t->size_bytes()));
          } else {
            cb.copyBuffer(host, device, vk::BufferCopy(offset, 0, t->size_bytes()));
          }
          offset += t->size_bytes();
        }
      });
    };
    copy_all(true);
    sum(std::span<float>(reinterpret_cast<float*>(staging->allocation.mapped), bytes / sizeof(float)), divide_by);
    copy_all(false);
  }
}

int64_t CommunicatorImpl::hash(std::span<const uint8_t> bytes, int64_t seed) {
  uint64_t h = 14695981039346656037ull ^ static_cast<uint64_t>(seed);
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return static_cast<int64_t>(h);
}

}  // namespace detail

Communicator::Communicator(CommunicatorOptions options) : impl_(std::make_unique<detail::CommunicatorImpl>()) {
  auto& c = *impl_;
  c.deterministic = options.deterministic;
  {
    std::lock_guard lock(lifetime_mutex);
    int initialised = 0, finalized = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalized);
    if (finalized) {
      throw CommunicationError(
          "vkgrad::dist::Communicator: MPI was already finalized (it cannot be initialised twice); keep one "
          "Communicator alive for the whole program");
    }
    if (!initialised) {
      int provided = 0;
      c.check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      initialised_by_vkgrad = true;
    }
    ++live_communicators;
  }
  try {
    c.check(MPI_Comm_dup(MPI_COMM_WORLD, &c.world), "MPI_Comm_dup");
    // Errors come back as return codes (then CommunicationError) instead of aborting the job.
    c.check(MPI_Comm_set_errhandler(c.world, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    c.check(MPI_Comm_rank(c.world, &c.rank), "MPI_Comm_rank");
    c.check(MPI_Comm_size(c.world, &c.size), "MPI_Comm_size");
    c.check(MPI_Comm_split_type(c.world, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &c.local), "MPI_Comm_split_type");
    c.check(MPI_Comm_rank(c.local, &c.local_rank), "MPI_Comm_rank (local)");
    c.check(MPI_Comm_size(c.local, &c.local_size), "MPI_Comm_size (local)");
  } catch (...) {
    release(c);
    throw;
  }
}

Communicator::~Communicator() {
  if (std::uncaught_exceptions() > 0) {
    // Unwinding from an error, while other ranks may wait in a collective for this one:
    // MPI_Comm_free and MPI_Finalize could wait for them forever. MPI is left as it is, so the
    // process ends with the error (a non-zero status) and the launcher stops the other ranks.
    std::lock_guard lock(lifetime_mutex);
    --live_communicators;
    return;
  }
  release(*impl_);
}

void Communicator::abort(int code, std::string_view message) const {
  if (!message.empty()) {
    std::fprintf(stderr, "rank %d: %.*s\n", impl_->rank, static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
  }
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, the process still ends
}

detail::CommunicatorImpl& Communicator::impl() const { return *impl_; }

int Communicator::rank() const { return impl_->rank; }
int Communicator::size() const { return impl_->size; }
int Communicator::local_rank() const { return impl_->local_rank; }
int Communicator::local_size() const { return impl_->local_size; }
bool Communicator::deterministic() const { return impl_->deterministic; }
void Communicator::set_deterministic(bool on) { impl_->deterministic = on; }

void Communicator::barrier() { impl_->check(MPI_Barrier(impl_->world), "MPI_Barrier"); }

namespace {

void broadcast_bytes(detail::CommunicatorImpl& c, void* data, std::size_t bytes, int root) {
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t offset = 0; offset < bytes; offset += max_chunk) {
    const auto count = static_cast<int>(std::min(max_chunk, bytes - offset));
    c.check(MPI_Bcast(p + offset, count, MPI_BYTE, root, c.world), "MPI_Bcast");
  }
}

template <class T>
void broadcast_span(detail::CommunicatorImpl& c, std::span<T> data, int root) {
  c.check_root(root, "broadcast");
  const auto count = static_cast<int64_t>(data.size());
  c.agree(std::span<const int64_t>(&count, 1), "broadcast", "the element counts");
  broadcast_bytes(c, data.data(), data.size_bytes(), root);
}

template <class T>
std::vector<T> allgather_span(detail::CommunicatorImpl& c, std::span<const T> data, MPI_Datatype type) {
  const auto count = static_cast<int64_t>(data.size());
  c.agree(std::span<const int64_t>(&count, 1), "allgather", "the element counts");
  if (data.size() > static_cast<std::size_t>(INT_MAX)) {
    throw InvalidArgument("vkgrad::dist::allgather: " + std::to_string(data.size()) +
                          " elements per rank; at most 2^31 - 1 are supported");
  }
  std::vector<T> out(data.size() * c.size);
  c.check(MPI_Allgather(data.data(), static_cast<int>(data.size()), type, out.data(), static_cast<int>(data.size()),
                        type, c.world),
          "MPI_Allgather");
  return out;
}

}  // namespace

void Communicator::broadcast(std::span<float> data, int root) { broadcast_span(*impl_, data, root); }
void Communicator::broadcast(std::span<uint8_t> data, int root) { broadcast_span(*impl_, data, root); }

void Communicator::broadcast(Tensor& tensor, int root) {
  auto& c = *impl_;
  c.check_root(root, "broadcast");
  const int64_t description[2] = {tensor.empty() ? -1 : static_cast<int64_t>(tensor.numel()),
                                  static_cast<int64_t>(tensor.dtype())};
  c.agree(description, "broadcast", "the tensors' element counts or dtypes");
  if (tensor.empty()) throw InvalidArgument("vkgrad::dist::broadcast: the tensor is empty (it has no storage)");
  HostTensor host = to_host(tensor);
  broadcast_bytes(c, host.bytes.data(), host.bytes.size(), root);
  if (c.rank != root) load_into(host, tensor, "broadcast");
}

std::vector<float> Communicator::allgather(std::span<const float> data) {
  return allgather_span(*impl_, data, MPI_FLOAT);
}
std::vector<int64_t> Communicator::allgather(std::span<const int64_t> data) {
  return allgather_span(*impl_, data, MPI_INT64_T);
}

void Communicator::allreduce_sum(std::span<float> data) {
  const auto count = static_cast<int64_t>(data.size());
  impl_->agree(std::span<const int64_t>(&count, 1), "allreduce_sum", "the element counts");
  impl_->sum(data, 1);
}

void Communicator::allreduce_sum(Tensor& tensor) {
  Tensor* one[] = {&tensor};
  allreduce_sum(std::span<Tensor* const>(one));
}

void Communicator::allreduce_sum(std::span<Tensor* const> tensors) {
  // Each tensor's element count, or a negative code for a null (-1), empty (-2), non-f32 (-3 -
  // dtype) tensor or one of another context than the tensors before it (-10): agreed on before the
  // local checks, so that every rank throws together.
  std::vector<int64_t> description;
  const vkgrad::detail::ContextImpl* context = nullptr;
  for (const Tensor* t : tensors) {
    if (t == nullptr) {
      description.push_back(-1);
    } else if (t->empty()) {
      description.push_back(-2);
    } else if (t->dtype() != DType::f32) {
      description.push_back(-3 - static_cast<int64_t>(t->dtype()));
    } else if (context != nullptr && t->buffer().context.get() != context) {
      description.push_back(-10);
    } else {
      context = t->buffer().context.get();
      description.push_back(static_cast<int64_t>(t->numel()));
    }
  }
  const int64_t summary[2] = {static_cast<int64_t>(tensors.size()),
                              detail::CommunicatorImpl::hash({reinterpret_cast<const uint8_t*>(description.data()),
                                                              description.size() * sizeof(int64_t)})};
  impl_->agree(summary, "allreduce_sum", "the tensors (count, element counts or dtypes)");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string which = "vkgrad::dist::allreduce_sum: tensor " + std::to_string(i) + " ";
    if (description[i] == -1) throw InvalidArgument(which + "is null");
    if (description[i] == -2) throw InvalidArgument(which + "is empty (it has no storage)");
    if (description[i] == -10) throw InvalidArgument(which + "belongs to another Context than the tensors before it");
    if (description[i] < 0) {
      throw InvalidArgument(which + "is " + to_string(tensors[i]->dtype()) + "; only f32 tensors can be summed");
    }
  }
  if (tensors.empty()) return;
  std::shared_ptr<vkgrad::detail::Buffer> staging;
  impl_->sum_tensors(tensors, 1, staging);
}

}  // namespace vkgrad::dist
