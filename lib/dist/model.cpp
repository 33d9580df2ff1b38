// The device of each rank, and the model-level building blocks of data-parallel training: the
// start-up broadcast of a model's state and the averaging of its gradients.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "communicator_impl.hpp"
#include "device_select.hpp"
#include "memory.hpp"
#include "nn_replica.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::dist {

ContextOptions context_options(const Communicator& comm, ContextOptions base) {
  const char* env = std::getenv("VKGRAD_DEVICE");
  if (!base.device.empty() || (env != nullptr && *env != '\0')) return base;
  // The devices of the type Context would pick by default (lib/device_select.cpp), round robin.
  const std::vector<DeviceInfo> devices = list_devices();
  const DeviceType best = devices.at(vkgrad::detail::select_device(devices, "")).type;
  std::vector<uint32_t> candidates;
  for (const DeviceInfo& d : devices) {
    if (d.usable && d.type == best) candidates.push_back(d.index);
  }
  base.device = std::to_string(candidates[static_cast<std::size_t>(comm.local_rank()) % candidates.size()]);
  return base;
}

void broadcast_state(Communicator& comm, nn::Sequential& model, nn::Optimizer* optimizer, int root) {
  comm.impl().check_root(root, "broadcast_state");
  nn::broadcast_state(comm, model, optimizer, root);
}

GradientAverager::GradientAverager(Communicator& comm, nn::Module& model, GradientAveragerOptions options)
    : comm_(&comm) {
  std::vector<nn::Parameter> parameters = model.parameters();
  // Names and element counts of every gradient, compared between ranks in one value.
  std::string description;
  for (const nn::Parameter& p : parameters) {
    description +=
        p.name + ':' + (p.grad == nullptr || p.grad->empty() ? std::string("none") : to_string(p.grad->dtype()));
    description += ':' + std::to_string(p.grad == nullptr ? 0 : p.grad->numel()) + ';';
  }
  const int64_t summary[2] = {
      static_cast<int64_t>(parameters.size()),
      detail::CommunicatorImpl::hash({reinterpret_cast<const uint8_t*>(description.data()), description.size()})};
  comm.impl().agree(summary, "GradientAverager", "the models' parameters (names, dtypes or element counts)");
  if (parameters.empty()) throw InvalidArgument("vkgrad::dist::GradientAverager: the model has no parameters");
  if (options.bucket_bytes == 0) throw InvalidArgument("vkgrad::dist::GradientAverager: bucket_bytes must be > 0");
  for (const nn::Parameter& p : parameters) {
    if (p.grad == nullptr || p.grad->empty() || p.grad->dtype() != DType::f32) {
      throw InvalidArgument("vkgrad::dist::GradientAverager: the gradient of " + p.name +
                            " is missing or not f32; only f32 gradients can be averaged");
    }
  }
  buckets_ = nn::replica::gradient_buckets(parameters, options.bucket_bytes);
  // The staging buffer of the largest bucket, made once (a bucket beyond 64 MiB goes in rounds).
  std::size_t largest = 0;
  for (const auto& bucket : buckets_) {
    std::size_t bytes = 0;
    for (const Tensor* t : bucket) bytes += t->size_bytes();
    largest = std::max(largest, bytes);
  }
  staging_ = std::make_shared<vkgrad::detail::Buffer>(parameters.front().grad->buffer().context,
                                                      std::min<std::size_t>(largest, std::size_t{64} << 20),
                                                      vkgrad::detail::MemoryUsage::staging);
}

void GradientAverager::average() {
  auto& c = comm_->impl();
  for (const auto& bucket : buckets_) c.sum_tensors(bucket, c.size, staging_);
}

}  // namespace vkgrad::dist
