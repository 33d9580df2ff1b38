// A rank that fails while the others wait for it in a collective must end the whole job with its
// message, never leave it hanging (tests/dist/expect_failure.cmake runs this under a timeout and
// expects a non-zero status and the message). Two ranks train data-parallel; rank 1 throws from
// its progress callback after the first step, while rank 0 goes on into the next step's gradient
// reduction and waits there. Modes: `uncaught`, the exception leaves main (std::terminate);
// `unwound`, it unwinds through the scope that owns the Communicator (whose destructor must then
// leave MPI alone) to main, which prints it and returns 1; `abort`, main's handler calls
// Communicator::abort, the way vkgrad-mnist ends a failed run.
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <vkgrad/dist.hpp>
#include <vkgrad/nn.hpp>

namespace {

constexpr const char* kMessage = "rank 1 failed on purpose in the middle of an epoch";

void train(vkgrad::dist::Communicator& comm) {
  using namespace vkgrad;
  Context ctx(dist::context_options(comm));
  const uint64_t count = 96, features = 8;
  std::vector<float> x(count * features);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 17.0f;
  std::vector<int32_t> labels(count);
  for (std::size_t i = 0; i < count; ++i) labels[i] = static_cast<int32_t>(i % 3);
  nn::DeviceDataset data;
  data.images = Tensor::from(ctx, {count, features}, x);
  data.labels = Tensor::from<int32_t>(ctx, {count}, labels);
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(features, 3);
  nn::SGD sgd(model, SgdOptions{.lr = 0.1f});
  nn::CrossEntropyLoss loss(ctx);
  nn::Trainer trainer(ctx, model, loss, sgd, nn::TrainerOptions{.batch = 8, .replicas = &comm, .steps_per_submit = 1});
  trainer.train_epoch(
      data,
      [&](uint64_t, uint64_t, const nn::Metrics&) {
        if (comm.rank() == 1) throw std::runtime_error(kMessage);
      },
      0);
  std::fprintf(stderr, "rank %d: the epoch ended, which it must not\n", comm.rank());
}

}  // namespace

int main(int argc, char* argv[]) {
  const std::string mode = argc == 2 ? argv[1] : "";
  if (mode != "uncaught" && mode != "unwound" && mode != "abort") {
    std::fprintf(stderr, "usage: %s uncaught|unwound|abort\n", argv[0]);
    return 2;
  }
  if (mode == "uncaught") {
    vkgrad::dist::Communicator comm;
    train(comm);  // throws out of main on rank 1
    return 0;
  }
  if (mode == "unwound") {
    try {
      vkgrad::dist::Communicator comm;
      train(comm);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  vkgrad::dist::Communicator comm;
  try {
    train(comm);
  } catch (const std::exception& e) {
    comm.abort(1, e.what());
  }
  return 0;
}
