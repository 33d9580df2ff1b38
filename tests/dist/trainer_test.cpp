// Data-parallel nn::Trainer (TrainerOptions::replicas): N replicas at global batch B against one
// process at batch B, parameters identical on every replica after every step, the start-up
// broadcast, shards disjoint and complete, resume, check_finite on one replica, and misuse.
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <vkgrad/nn.hpp>

#include "dist_harness.hpp"
#include "values.hpp"

namespace vkgrad::dist::test {
namespace {

// B = 12 divides evenly across 2, 3 and 4 ranks; 9 full batches and a last one of 7 rows make 10
// steps per epoch, the last split unevenly (4 + 3 rows at 2 ranks, 3 + 2 + 2 at 3, 2 + 2 + 2 + 1
// at 4).
constexpr uint64_t features = 13, hidden = 24, classes = 7, global_batch = 12, samples = 115;

// The same dataset on every rank: f32 features in about [-2, 2], class labels.
nn::DeviceDataset make_data(Context& ctx, uint64_t count, bool with_nan = false) {
  std::vector<float> x(count * features);
  for (uint64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::tanh(mixed_value(0, i, 5)) * 2.0);
  if (with_nan) x[(count / 2) * features + 3] = std::nanf("");
  std::vector<int32_t> labels(count);
  for (uint64_t i = 0; i < count; ++i) labels[i] = static_cast<int32_t>((i * 5 + i / 3) % classes);
  nn::DeviceDataset d;
  d.images = Tensor::from(ctx, {count, features}, x);
  d.labels = Tensor::from<int32_t>(ctx, {count}, labels);
  return d;
}

enum class Opt { sgd, adam };

// Linear → ReLU → Dropout → Linear, initialised from `seed`, with its optimizer; with `sync_bn`
// Linear (no bias: a SyncBatchNorm follows) → SyncBatchNorm → ReLU → Dropout → Linear.
struct Run {
  std::unique_ptr<nn::Sequential> model;
  std::unique_ptr<nn::Optimizer> optimizer;
  std::unique_ptr<nn::CrossEntropyLoss> loss;
  std::unique_ptr<nn::Trainer> trainer;
  Run(uint64_t seed, Opt opt, nn::ReplicaGroup* group, uint64_t trainer_seed, uint64_t width = hidden,
      uint64_t batch = global_batch, uint32_t steps_per_submit = 1, bool sync_bn = false) {
    Context& ctx = context();
    model = std::make_unique<nn::Sequential>(ctx);
    model->emplace<nn::Linear>(features, width, !sync_bn);
    if (sync_bn) model->emplace<nn::SyncBatchNorm>(width);
    model->emplace<nn::Activation>(Activation::relu);
    model->emplace<nn::Dropout>(0.2f);
    model->emplace<nn::Linear>(width, classes);
    CommandList cmd(ctx);
    model->reset_parameters(cmd, seed);
    cmd.run();
    if (opt == Opt::sgd) {
      optimizer = std::make_unique<nn::SGD>(*model, SgdOptions{.lr = 0.05f, .momentum = 0.9f});
    } else {
      optimizer = std::make_unique<nn::Adam>(*model, AdamOptions{.lr = 1e-2f});
    }
    loss = std::make_unique<nn::CrossEntropyLoss>(ctx);
    trainer = std::make_unique<nn::Trainer>(
        ctx, *model, *loss, *optimizer,
        nn::TrainerOptions{
            .batch = batch, .replicas = group, .steps_per_submit = steps_per_submit, .seed = trainer_seed});
  }
};

// Every parameter, in order.
std::vector<float> parameters(nn::Sequential& model) {
  std::vector<float> all;
  for (const nn::Parameter& p : model.parameters()) {
    const std::vector<float> v = p.value->to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// The bytes of the model's state_dict and training_state.
std::string state_bytes(nn::Sequential& model) {
  std::string out;
  for (const auto& part : {model.state_dict(), model.training_state()}) {
    for (const auto& [name, t] : part) out += name + '=' + std::string(t.bytes.begin(), t.bytes.end());
  }
  return out;
}

int64_t fingerprint(const std::vector<float>& v) {
  uint64_t h = 14695981039346656037ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
  for (std::size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return static_cast<int64_t>(h);
}

// Elements of `a` farther from `b` than 1e-6 + 1e-5·|b| (float reassociation only), and the worst
// relative difference.
std::pair<std::size_t, double> beyond_tolerance(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double err = std::abs(double(a[i]) - double(b[i]));
    worst = std::max(worst, err / (1e-6 + std::abs(double(b[i]))));
    bad += err > 1e-6 + 1e-5 * std::abs(double(b[i]));
  }
  return {bad, worst};
}

// Whether `value` is the same on every rank.
bool same_everywhere(Communicator& comm, int64_t value) {
  for (int64_t v : comm.allgather(std::span<const int64_t>(&value, 1))) {
    if (v != value) return false;
  }
  return true;
}

// Deterministic (rank-order) sums for the duration of a test.
struct Deterministic {
  Communicator& comm;
  bool saved;
  explicit Deterministic(Communicator& c) : comm(c), saved(c.deterministic()) { c.set_deterministic(true); }
  ~Deterministic() { comm.set_deterministic(saved); }
};

TEST_CASE("data-parallel Trainer: N replicas at global batch B match one process at batch B",
          "[dist][deterministic][trainer]") {
  Communicator& comm = communicator();
  Deterministic deterministic(comm);
  Context& ctx = context();
  const nn::DeviceDataset data = make_data(ctx, samples);
  for (Opt opt : {Opt::sgd, Opt::adam}) {
    // Adam's replicas run 3 steps per submission (3 host steps in one list).
    const uint32_t per_submit = opt == Opt::sgd ? 1 : 3;
    INFO((opt == Opt::sgd ? "SGD with momentum" : "Adam")
         << ", " << comm.size() << " replicas, " << per_submit << " steps per submission");
    // Each replica starts from its own weights and seed; the trainer makes them rank 0's.
    Run replica(100 + comm.rank(), opt, &comm, 5 + comm.rank(), hidden, global_batch, per_submit);
    Run alone(100, opt, nullptr, 5);
    CHECK(replica.trainer->options().seed == 5);
    REQUIRE(parameters(*replica.model) == parameters(*alone.model));

    // Parameters identical on every replica after every submission (progress after each; the last,
    // partial step is checked after the epoch).
    std::size_t checked = 0;
    bool all_same = true;
    const nn::Metrics got = replica.trainer->train_epoch(
        data,
        [&](uint64_t, uint64_t, const nn::Metrics&) {
          all_same = all_same && same_everywhere(comm, fingerprint(parameters(*replica.model)));
          ++checked;
        },
        0);
    CHECK(all_same);
    CHECK(checked == (samples / global_batch + per_submit - 1) / per_submit + 1);
    CHECK(same_everywhere(comm, fingerprint(parameters(*replica.model))));
    CHECK(replica.trainer->communication().reductions == samples / global_batch + 1);

    const nn::Metrics expected = alone.trainer->train_epoch(data);
    CHECK(got.samples == samples);
    CHECK(got.samples == expected.samples);
    CHECK(std::abs(got.loss - expected.loss) <= 1e-5 * std::abs(expected.loss));
    CHECK(std::abs(got.accuracy - expected.accuracy) <= 1.0 / samples);  // at most one argmax tie flips

    // 10 steps: the same parameters up to float reassociation of the gradient sums.
    const std::vector<float> a = parameters(*replica.model), b = parameters(*alone.model);
    REQUIRE(a.size() == b.size());
    const auto [bad, worst] = beyond_tolerance(a, b);
    INFO("worst relative difference " << worst);
    CHECK(bad == 0);
    // Evaluation runs every sample on every replica: identical everywhere.
    const nn::Metrics eval = replica.trainer->evaluate(data);
    CHECK(eval.samples == samples);
    CHECK(same_everywhere(comm, std::bit_cast<int64_t>(eval.loss)));
  }
}

TEST_CASE("data-parallel Trainer with SyncBatchNorm and Dropout: N replicas at global batch B match one process",
          "[dist][deterministic][trainer][syncbn]") {
  Communicator& comm = communicator();
  Deterministic deterministic(comm);
  Context& ctx = context();
  const nn::DeviceDataset data = make_data(ctx, samples);
  for (Opt opt : {Opt::sgd, Opt::adam}) {
    INFO((opt == Opt::sgd ? "SGD with momentum" : "Adam") << ", " << comm.size() << " replicas");
    // 10 steps; the last batch of 7 rows leaves a replica 1 row at 4 replicas, which SyncBatchNorm
    // normalises with the other replicas' rows.
    Run replica(100 + comm.rank(), opt, &comm, 5 + comm.rank(), hidden, global_batch, 1, true);
    Run alone(100, opt, nullptr, 5, hidden, global_batch, 1, true);
    REQUIRE(parameters(*replica.model) == parameters(*alone.model));
    const nn::Metrics got = replica.trainer->train_epoch(data);
    const nn::Metrics expected = alone.trainer->train_epoch(data);
    CHECK(got.samples == expected.samples);
    CHECK(std::abs(got.loss - expected.loss) <= 1e-5 * std::abs(expected.loss));
    CHECK(same_everywhere(comm, fingerprint(parameters(*replica.model))));
    const auto [bad, worst] = beyond_tolerance(parameters(*replica.model), parameters(*alone.model));
    INFO("parameters: worst relative difference " << worst);
    CHECK(bad == 0);
    // The running statistics of the global batches, on every replica.
    std::vector<float> stats_replica, stats_alone;
    for (auto [model, out] :
         {std::pair{replica.model.get(), &stats_replica}, std::pair{alone.model.get(), &stats_alone}}) {
      for (const nn::Buffer& b : model->buffers()) {
        if (b.value->dtype() != DType::f32) continue;
        const std::vector<float> v = b.value->to_vector();
        out->insert(out->end(), v.begin(), v.end());
      }
    }
    REQUIRE(stats_replica.size() == 2 * hidden);
    CHECK(same_everywhere(comm, fingerprint(stats_replica)));
    const auto [bad_stats, worst_stats] = beyond_tolerance(stats_replica, stats_alone);
    INFO("running statistics: worst relative difference " << worst_stats);
    CHECK(bad_stats == 0);
  }
}

TEST_CASE("data-parallel Trainer: BatchNorm1d per replica, its running statistics rank 0's after every epoch",
          "[dist][trainer]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  const nn::DeviceDataset data = make_data(ctx, samples);
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(features, hidden);
  model.emplace<nn::BatchNorm1d>(hidden);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Linear>(hidden, classes);
  CommandList cmd(ctx);
  model.reset_parameters(cmd, 21 + comm.rank());
  cmd.run();
  nn::SGD sgd(model, SgdOptions{.lr = 0.05f, .momentum = 0.9f});
  nn::CrossEntropyLoss loss(ctx);
  nn::Trainer trainer(ctx, model, loss, sgd, nn::TrainerOptions{.batch = global_batch, .replicas = &comm});
  for (int epoch = 0; epoch < 2; ++epoch) {
    trainer.train_epoch(data);
    // Each replica normalised its own rows, so its running statistics were its own; the trainer
    // made them rank 0's, so the whole state, and evaluation, agree on every replica.
    const std::string state = state_bytes(model);
    CHECK(same_everywhere(comm, fingerprint(std::vector<float>(state.begin(), state.end()))));
    const nn::Metrics eval = trainer.evaluate(data);
    CHECK(same_everywhere(comm, std::bit_cast<int64_t>(eval.loss)));
  }
}

TEST_CASE("data-parallel Trainer: every sample of an epoch is trained on once, by one replica", "[dist][trainer]") {
  // One-hot inputs x_i = e_i, targets 0, MSELoss(sum), SGD lr 1: sample i's gradient is 2·w_i on
  // its weight alone, so after one epoch w_i = -w_i exactly if sample i was in exactly one
  // replica's slice of exactly one step (twice: +w_i; two replicas in one step: -3·w_i; never: w_i).
  Communicator& comm = communicator();
  Context& ctx = context();
  // Last batches of 1 row (most replicas without rows), 5 rows and none.
  for (uint64_t count : {global_batch * 2 + 1, global_batch * 3 + 5, global_batch * 3}) {
    INFO(count << " samples, " << comm.size() << " replicas");
    std::vector<float> eye(count * count, 0.0f);
    for (uint64_t i = 0; i < count; ++i) eye[i * count + i] = 1.0f;
    nn::DeviceDataset data;
    data.images = Tensor::from(ctx, {count, count}, eye);
    data.targets = Tensor::from(ctx, {count, 1}, std::vector<float>(count, 0.0f));
    nn::Sequential model(ctx);
    model.emplace<nn::Linear>(count, 1, false);
    CommandList cmd(ctx);
    model.reset_parameters(cmd, 3 + comm.rank());
    cmd.run();
    nn::SGD sgd(model, SgdOptions{.lr = 1.0f});
    nn::MSELoss loss(ctx, Reduction::sum);
    nn::Trainer trainer(ctx, model, loss, sgd, nn::TrainerOptions{.batch = global_batch, .replicas = &comm});
    const std::vector<float> before = parameters(model);
    const nn::Metrics m = trainer.train_epoch(data);
    CHECK(m.samples == count);
    const std::vector<float> after = parameters(model);
    std::size_t wrong = 0;
    for (uint64_t i = 0; i < count; ++i) wrong += after[i] != -before[i];
    CHECK(wrong == 0);
  }
}

TEST_CASE("data-parallel Trainer: resume is bit-identical to an uninterrupted run", "[dist][trainer]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  const nn::DeviceDataset data = make_data(ctx, samples);
  Run uninterrupted(7, Opt::adam, &comm, 11);
  uninterrupted.trainer->train_epoch(data);
  uninterrupted.trainer->train_epoch(data);

  // Rank 0's path; the other ranks pass one that does not exist: only rank 0 reads and writes.
  const uint64_t id =
      static_cast<uint64_t>(comm.allgather(std::span<const int64_t>(std::vector<int64_t>{int64_t(::getpid())}))[0]);
  const std::filesystem::path saved =
      std::filesystem::temp_directory_path() / ("vkgrad_dist_resume_" + std::to_string(id) + ".safetensors");
  const std::filesystem::path path = comm.rank() == 0 ? saved : std::filesystem::path("/nonexistent/checkpoint");
  {
    Run first(7, Opt::adam, &comm, 11);
    first.trainer->train_epoch(data);
    first.trainer->save_checkpoint(path);
    CHECK(std::filesystem::exists(saved));  // written before any rank returns
  }
  Run resumed(50 + comm.rank(), Opt::adam, &comm, 99);
  resumed.trainer->load_checkpoint(path);
  CHECK(resumed.trainer->epochs_done() == 1);
  CHECK(resumed.trainer->options().seed == 11);
  resumed.trainer->train_epoch(data);
  CHECK(state_bytes(*resumed.model) == state_bytes(*uninterrupted.model));
  // A missing file: rank 0's error on every rank.
  CHECK_THROWS_AS(resumed.trainer->load_checkpoint(saved.string() + ".missing"), InvalidArgument);
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove(saved);
}

TEST_CASE("data-parallel Trainer: a non-finite loss on one replica throws the same error on every replica",
          "[dist][trainer]") {
  Communicator& comm = communicator();
  Context& ctx = context();
  Run run(7, Opt::sgd, &comm, 3);
  std::string message;
  try {
    run.trainer->train_epoch(make_data(ctx, samples, true));
  } catch (const NonFiniteError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("input batch"));
  CHECK(same_everywhere(comm, fingerprint(std::vector<float>(message.begin(), message.end()))));
}

TEST_CASE("data-parallel Trainer: misuse is refused on every replica", "[dist][trainer]") {
  Communicator& comm = communicator();
  // A global batch that the replicas cannot share evenly.
  const uint64_t uneven = static_cast<uint64_t>(comm.size()) * 3 + 1;
  CHECK_THROWS_WITH(Run(1, Opt::sgd, &comm, 0, hidden, uneven),
                    Catch::Contains("multiple of " + std::to_string(comm.size())));
  // Batches, models and optimizers that differ between replicas.
  CHECK_THROWS_WITH(Run(1, Opt::sgd, &comm, 0, hidden, global_batch * (comm.rank() == 0 ? 1 : 2)),
                    Catch::Contains("differ"));
  CHECK_THROWS_WITH(Run(1, Opt::sgd, &comm, 0, comm.rank() == 0 ? hidden : hidden + 1), Catch::Contains("differ"));
  CHECK_THROWS_WITH(Run(1, comm.rank() == 0 ? Opt::sgd : Opt::adam, &comm, 0), Catch::Contains("differ"));
  // One replica's own bad option: its message there, a pointer to it elsewhere.
  if (comm.rank() == comm.size() - 1) {
    CHECK_THROWS_WITH(Run(1, Opt::sgd, &comm, 0, hidden, 0), Catch::Contains("batch must be in"));
  } else {
    CHECK_THROWS_WITH(Run(1, Opt::sgd, &comm, 0), Catch::Contains("replica " + std::to_string(comm.size() - 1)));
  }
  // Datasets of different sizes: refused by train_epoch on every replica.
  Run fine(1, Opt::sgd, &comm, 0);
  CHECK_THROWS_WITH(fine.trainer->train_epoch(make_data(context(), samples + uint64_t(comm.rank()))),
                    Catch::Contains("datasets"));
  // Still in step: the trainer works afterwards.
  CHECK(fine.trainer->train_epoch(make_data(context(), samples)).samples == samples);
  // A last batch of 1 row leaves a replica without rows, which SyncBatchNorm cannot train with.
  Run sync(1, Opt::sgd, &comm, 0, hidden, global_batch, 1, true);
  CHECK_THROWS_WITH(sync.trainer->train_epoch(make_data(context(), 2 * global_batch + 1)),
                    Catch::Contains("SyncBatchNorm needs every replica"));
  CHECK(sync.trainer->train_epoch(make_data(context(), samples)).samples == samples);
}

}  // namespace
}  // namespace vkgrad::dist::test
