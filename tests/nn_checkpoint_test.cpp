// Trainer::save_checkpoint / load_checkpoint: training interrupted after an epoch and resumed from
// the one checkpoint file, by a new Context, model, optimizer and trainer made with other seeds,
// ends bit-identical to the uninterrupted run (every parameter, buffer, counter and optimizer state
// tensor, and every epoch's metrics), for Dropout, BatchNorm1d and both, with SGD (momentum) and
// Adam; the file's layout (PyTorch's names unprefixed, vkgrad's under "vkgrad."); and the refusals
// (another architecture or optimizer, missing tensors, a truncated, corrupt or missing file), after
// which nothing has changed.
#include <catch2/catch.hpp>

#include <bit>
#include <filesystem>
#include <fstream>
#include <memory>

#include "harness.hpp"
#include "nn_fixtures.hpp"

namespace vkgrad::test {
namespace {

using nn::Sequential;
using StateDict = std::vector<std::pair<std::string, HostTensor>>;

enum class Layers { dropout, batchnorm, both };
enum class Opt { sgd, adam };

const char* name_of(Layers l) {
  return l == Layers::dropout ? "Dropout" : l == Layers::batchnorm ? "BatchNorm1d" : "BatchNorm1d and Dropout";
}
const char* name_of(Opt o) { return o == Opt::sgd ? "SGD(momentum=0.9)" : "Adam"; }

// 203 samples in batches of 32: six full batches and a last one of 11 rows.
constexpr uint64_t kCount = 203, kFeatures = 12, kHidden = 16, kClasses = 3, kBatch = 32;

// A model, its optimizer and a trainer on context(), made from `model_seed` (initial weights and
// Dropout masks) and `trainer_seed` (shuffles).
struct TrainingRun {
  Sequential model;
  nn::CrossEntropyLoss loss;
  std::unique_ptr<nn::Optimizer> optimizer;
  std::unique_ptr<nn::Trainer> trainer;
  nn::DeviceDataset data;

  TrainingRun(Layers layers, Opt opt, uint64_t model_seed, uint64_t trainer_seed, uint32_t steps_per_submit,
              uint64_t hidden = kHidden)
      : model(context()), loss(context()), data(synthetic(context(), kCount, kFeatures, kClasses, 1)) {
    model.emplace<nn::Linear>(kFeatures, hidden);
    if (layers != Layers::dropout) model.emplace<nn::BatchNorm1d>(hidden);
    model.emplace<nn::Activation>(Activation::relu);
    if (layers != Layers::batchnorm) model.emplace<nn::Dropout>(0.3f);
    model.emplace<nn::Linear>(hidden, kClasses);
    CommandList cmd(context());
    model.reset_parameters(cmd, model_seed);
    cmd.run();
    if (opt == Opt::sgd) {
      optimizer = std::make_unique<nn::SGD>(model, SgdOptions{.lr = 0.05f, .momentum = 0.9f});
    } else {
      optimizer = std::make_unique<nn::Adam>(model, AdamOptions{.lr = 1e-2f});
    }
    nn::TrainerOptions o;
    o.batch = kBatch;
    o.seed = trainer_seed;
    o.steps_per_submit = steps_per_submit;
    trainer = std::make_unique<nn::Trainer>(context(), model, loss, *optimizer, o);
  }

  nn::Linear& first_linear() { return dynamic_cast<nn::Linear&>(model[0]); }
  nn::Linear& last_linear() { return dynamic_cast<nn::Linear&>(model[model.size() - 1]); }

  // Every tensor of the model's and the optimizer's state, with the trainer's counters and the
  // weight masks that are set.
  StateDict everything() {
    StateDict all = model.state_dict();
    for (nn::Linear* l : {&first_linear(), &last_linear()}) {
      if (l->has_weight_mask())
        all.emplace_back("mask", HostTensor::from_floats({l->weight().numel()}, l->weight_mask_values()));
    }
    for (auto& [n, t] : model.training_state()) all.emplace_back("model." + n, std::move(t));
    for (auto& [n, t] : optimizer->state_dict()) all.emplace_back("optimizer." + n, std::move(t));
    all.emplace_back("epochs_done", HostTensor::scalar_i64(int64_t(trainer->epochs_done())));
    all.emplace_back("seed", HostTensor::scalar_i64(int64_t(trainer->options().seed)));
    return all;
  }
};

// "" when `a` and `b` hold the same names in the same order with the same dtype, shape and bytes,
// else the first difference.
std::string state_difference(const StateDict& a, const StateDict& b) {
  if (a.size() != b.size()) return std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " tensors";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first) return "name '" + a[i].first + "' vs '" + b[i].first + "'";
    const HostTensor &x = a[i].second, &y = b[i].second;
    if (x.dtype != y.dtype || x.shape != y.shape || x.bytes != y.bytes) return "'" + a[i].first + "' differs";
  }
  return "";
}

bool same_metrics(const nn::Metrics& a, const nn::Metrics& b) {
  return a.samples == b.samples && a.loss == b.loss && a.accuracy == b.accuracy;
}

constexpr uint64_t kEpochs = 3;

// The checkpoint of a run whose layer 0 has `mask`: the mask as U8 0/1 under "vkgrad.mask.0.weight",
// the plain "0.weight" holding +0 where it is 0, and no mask in load_checkpoint_model_state.
void check_masked_file(const std::filesystem::path& path, const std::vector<float>& mask) {
  const SafetensorsFile file = load_safetensors(path);
  const HostTensor* saved = file.find("vkgrad.mask.0.weight");
  REQUIRE(saved != nullptr);
  CHECK(saved->dtype == "U8");
  CHECK(saved->shape == std::vector<uint64_t>{kHidden, kFeatures});
  std::vector<float> values(saved->bytes.begin(), saved->bytes.end());
  CHECK(values == mask);
  const std::vector<float> weight = file.find("0.weight")->to_floats();
  std::size_t not_zero = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) not_zero += mask[i] == 0.0f && std::bit_cast<uint32_t>(weight[i]) != 0;
  CHECK(not_zero == 0);
  for (const auto& [name, t] : nn::load_checkpoint_model_state(path)) CHECK(name.rfind("vkgrad.", 0) != 0);
}

// The uninterrupted run, then the same run interrupted after epoch 1 and resumed from a checkpoint
// on a new Context, by objects made with other seeds (and another steps_per_submit, and the other
// way of choosing it first). `train_before_load`: the resuming trainer trains an epoch with its own
// seeds before loading, so its recorded lists (which hold the Dropout seeds) must be replaced.
// `masked`: the first layer is pruned by half (its mask goes into the checkpoint), and the resuming
// run starts with a mask on the last layer, which the checkpoint has none for, so loading removes it.
void check_resume(Layers layers, Opt opt, bool train_before_load = false, bool masked = false) {
  INFO(name_of(layers) << ", " << name_of(opt) << (masked ? ", masked" : ""));
  std::vector<float> mask(kHidden * kFeatures);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (i * 7) % 5 < 2 ? 0.0f : 1.0f;
  std::vector<nn::Metrics> straight_metrics;
  StateDict straight;
  {
    TrainingRun s(layers, opt, 5, 11, 1);
    if (masked) s.first_linear().set_weight_mask(mask);
    for (uint64_t e = 0; e < kEpochs; ++e) straight_metrics.push_back(s.trainer->train_epoch(s.data));
    straight = s.everything();
    require_no_validation_messages();
  }
  TempDir tmp("nn_checkpoint");
  const auto path = tmp.path / "run.safetensors";
  {
    TrainingRun s(layers, opt, 5, 11, 0);  // steps per submission chosen from a timed step
    if (masked) s.first_linear().set_weight_mask(mask);
    CHECK(same_metrics(s.trainer->train_epoch(s.data), straight_metrics[0]));
    s.trainer->save_checkpoint(path);
    require_no_validation_messages();
  }
  if (masked) check_masked_file(path, mask);
  ScopedContext fresh([](ContextOptions&) {});
  TrainingRun s(layers, opt, 77, 1234, 3);
  if (masked) s.last_linear().set_weight_mask(std::vector<float>(kClasses * kHidden, 1.0f));
  if (train_before_load) s.trainer->train_epoch(s.data);
  REQUIRE(state_difference(s.everything(), straight) != "");  // only the checkpoint can make them match
  s.trainer->load_checkpoint(path);
  CHECK(s.trainer->epochs_done() == 1);
  CHECK(s.trainer->options().seed == 11);
  CHECK(s.model.dropout_seed() == 5);
  for (uint64_t e = 1; e < kEpochs; ++e) {
    INFO("epoch " << e + 1);
    CHECK(same_metrics(s.trainer->train_epoch(s.data), straight_metrics[e]));
  }
  CHECK(state_difference(s.everything(), straight) == "");
  CHECK(s.optimizer->steps() == int64_t(kEpochs * 7));  // 6 full batches and the tail per epoch
  require_no_validation_messages();
}

}  // namespace

TEST_CASE("a resumed checkpoint trains bit-identically to the uninterrupted run: Dropout",
          "[nn][trainer][checkpoint]") {
  check_resume(Layers::dropout, Opt::sgd);
  check_resume(Layers::dropout, Opt::adam);
}

TEST_CASE("a resumed checkpoint trains bit-identically to the uninterrupted run: BatchNorm1d",
          "[nn][trainer][checkpoint]") {
  check_resume(Layers::batchnorm, Opt::sgd);
  check_resume(Layers::batchnorm, Opt::adam);
}

TEST_CASE("a resumed checkpoint trains bit-identically to the uninterrupted run: BatchNorm1d and Dropout",
          "[nn][trainer][checkpoint]") {
  check_resume(Layers::both, Opt::sgd);
  check_resume(Layers::both, Opt::adam);
}

TEST_CASE("load_checkpoint replaces the state of a trainer that has trained already", "[nn][trainer][checkpoint]") {
  check_resume(Layers::both, Opt::adam, true);
}

TEST_CASE("a pruned run resumes bit-identically, its masks restored and others removed",
          "[nn][trainer][checkpoint][mask]") {
  check_resume(Layers::dropout, Opt::sgd, false, true);
  check_resume(Layers::both, Opt::adam, true, true);
}

TEST_CASE("a checkpoint holds the model's state_dict under PyTorch's names and vkgrad's state under vkgrad.",
          "[nn][trainer][checkpoint]") {
  TempDir tmp("nn_checkpoint_layout");
  const auto path = tmp.path / "run.safetensors";
  TrainingRun s(Layers::both, Opt::adam, 5, 11, 1);
  s.trainer->train_epoch(s.data);
  s.trainer->save_checkpoint(path, {{"dataset", "synthetic"}});
  const SafetensorsFile file = load_safetensors(path);
  StateDict model_part, vkgrad_part;
  for (const auto& [name, t] : file.tensors)
    (name.rfind("vkgrad.", 0) == 0 ? vkgrad_part : model_part).emplace_back(name, t);
  // The model's keys, unprefixed and in order: PyTorch's load_state_dict(strict=True) after the
  // "vkgrad." keys are dropped, strict=False as the file is.
  CHECK(state_difference(model_part, s.model.state_dict()) == "");
  CHECK(state_difference(nn::load_checkpoint_model_state(path), s.model.state_dict()) == "");
  std::vector<std::string> names;
  for (const auto& [name, t] : vkgrad_part) names.push_back(name);
  CHECK(names == std::vector<std::string>{"vkgrad.model.step_counter", "vkgrad.model.dropout_seed",
                                          "vkgrad.optimizer.step", "vkgrad.optimizer.0.weight.exp_avg",
                                          "vkgrad.optimizer.0.weight.exp_avg_sq", "vkgrad.optimizer.0.bias.exp_avg",
                                          "vkgrad.optimizer.0.bias.exp_avg_sq", "vkgrad.optimizer.1.weight.exp_avg",
                                          "vkgrad.optimizer.1.weight.exp_avg_sq", "vkgrad.optimizer.1.bias.exp_avg",
                                          "vkgrad.optimizer.1.bias.exp_avg_sq", "vkgrad.optimizer.4.weight.exp_avg",
                                          "vkgrad.optimizer.4.weight.exp_avg_sq", "vkgrad.optimizer.4.bias.exp_avg",
                                          "vkgrad.optimizer.4.bias.exp_avg_sq", "vkgrad.trainer.epochs_done",
                                          "vkgrad.trainer.seed"});
  CHECK(file.find("vkgrad.trainer.epochs_done")->to_i64("epochs_done") == 1);
  CHECK(file.find("vkgrad.trainer.seed")->to_i64("seed") == 11);
  CHECK(file.find("vkgrad.model.step_counter")->to_i64("step_counter") == 7);
  CHECK(file.find("vkgrad.model.dropout_seed")->to_i64("dropout_seed") == 5);
  CHECK(file.find("vkgrad.optimizer.step")->to_i64("step") == 7);
  CHECK(file.metadata.at("format") == "pt");
  CHECK(file.metadata.at("dataset") == "synthetic");
  CHECK(file.metadata.at("vkgrad.optimizer") == s.optimizer->to_string());
  CHECK_THAT(file.metadata.at("vkgrad.model"), Catch::Contains("(3): Dropout(p=0.3, inplace=False)"));
  require_refused(
      [&] {
        s.trainer->save_checkpoint(tmp.path / "x.safetensors", {{"vkgrad.model", "mine"}});
      },
      {"metadata key 'vkgrad.model' is reserved"});
  require_refused(
      [&] {
        s.trainer->save_checkpoint(tmp.path / "x.safetensors", {{"format", "np"}});
      },
      {"metadata key 'format' is reserved"});
  CHECK_FALSE(std::filesystem::exists(tmp.path / "x.safetensors"));
  require_no_validation_messages();
}

TEST_CASE("a seed above 2^63 survives the checkpoint", "[nn][trainer][checkpoint]") {
  TempDir tmp("nn_checkpoint_seed");
  const auto path = tmp.path / "run.safetensors";
  const uint64_t big = 0xF00DFACE12345678ull;
  {
    TrainingRun s(Layers::dropout, Opt::sgd, big, big - 1, 1);
    s.trainer->save_checkpoint(path);
  }
  TrainingRun s(Layers::dropout, Opt::sgd, 1, 2, 1);
  s.trainer->load_checkpoint(path);
  CHECK(s.model.dropout_seed() == big);
  CHECK(s.trainer->options().seed == big - 1);
  require_no_validation_messages();
}

TEST_CASE("Dropout masks depend on the dropout seed, not on whether a layer came before or after it",
          "[nn][checkpoint]") {
  Context& ctx = context();
  Sequential reset_after(ctx), seeded_before(ctx);
  reset_after.emplace<nn::Dropout>(0.5f);
  reset_after.emplace<nn::Dropout>(0.5f);
  {
    CommandList cmd(ctx);
    reset_after.reset_parameters(cmd, 42);
    cmd.run();
  }
  seeded_before.set_dropout_seed(42);
  seeded_before.emplace<nn::Dropout>(0.5f);
  seeded_before.emplace<nn::Dropout>(0.5f);
  CHECK(seeded_before.dropout_seed() == 42);
  const Tensor x = Tensor::from<float>(ctx, {4, 64}, uniform(256, 1.0f, 2.0f, 3));
  auto masks = [&](Sequential& model) {
    Tensor y(ctx, {4, 64});
    CommandList cmd(ctx);
    model.forward(cmd, x, y);
    cmd.run();
    return y.to_vector();
  };
  const auto a = masks(reset_after), b = masks(seeded_before);
  CHECK(a == b);
  seeded_before.set_dropout_seed(43);
  CHECK(masks(seeded_before) != a);
  require_no_validation_messages();
}

TEST_CASE("Sequential::load_training_state refuses a bad state whole", "[nn][checkpoint]") {
  Context& ctx = context();
  Sequential model(ctx);
  model.emplace<nn::Dropout>(0.5f);
  model.set_dropout_seed(9);
  const StateDict before = model.training_state();
  require_refused(
      [&] {
        model.load_training_state({{"step_counter", HostTensor::scalar_i64(3)}});
      },
      {"missing 'dropout_seed'"});
  require_refused(
      [&] {
        model.load_training_state({{"step_counter", HostTensor::scalar_i64(3)},
                                   {"dropout_seed", HostTensor::from_floats({1}, std::vector<float>{1.0f})}});
      },
      {"'dropout_seed' is not an I64 scalar"});
  require_refused(
      [&] {
        model.load_training_state(
            {{"step_counter", HostTensor::scalar_i64(int64_t(1) << 31)}, {"dropout_seed", HostTensor::scalar_i64(1)}});
      },
      {"'step_counter' is out of range"});
  require_refused(
      [&] {
        model.load_training_state({{"step_counter", HostTensor::scalar_i64(3)},
                                   {"dropout_seed", HostTensor::scalar_i64(1)},
                                   {"extra", HostTensor::scalar_i64(1)}});
      },
      {"unexpected 'extra'"});
  CHECK(state_difference(model.training_state(), before) == "");
  model.load_training_state({{"step_counter", HostTensor::scalar_i64(3)}, {"dropout_seed", HostTensor::scalar_i64(1)}});
  CHECK(model.step_counter().to_vector<int32_t>()[0] == 3);
  CHECK(model.dropout_seed() == 1);
  require_no_validation_messages();
}

TEST_CASE("load_checkpoint refuses a checkpoint that does not fit and changes nothing", "[nn][trainer][checkpoint]") {
  TempDir tmp("nn_checkpoint_refused");
  const auto dir = tmp.path;
  {
    TrainingRun s(Layers::both, Opt::sgd, 5, 11, 1);
    s.trainer->train_epoch(s.data);
    s.trainer->save_checkpoint(dir / "sgd.safetensors");
    save_safetensors(dir / "plain.safetensors", s.model.state_dict());
  }
  const SafetensorsFile good = load_safetensors(dir / "sgd.safetensors");
  {
    // Without the optimizer's step: the model's part loads first, then the optimizer's is refused.
    StateDict tensors;
    for (const auto& [name, t] : good.tensors) {
      if (name != "vkgrad.optimizer.step") tensors.emplace_back(name, t);
    }
    save_safetensors(dir / "no_step.safetensors", tensors, good.metadata);
    // Without the trainer's epochs.
    tensors.clear();
    for (const auto& [name, t] : good.tensors) {
      if (name != "vkgrad.trainer.epochs_done") tensors.emplace_back(name, t);
    }
    save_safetensors(dir / "no_epochs.safetensors", tensors, good.metadata);
  }
  {
    std::ifstream in(dir / "sgd.safetensors", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "truncated.safetensors", std::ios::binary)
        .write(bytes.data(), std::streamsize(bytes.size() / 2));
    bytes[8] = '!';  // the header's opening brace
    std::ofstream(dir / "corrupt.safetensors", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  }

  // A trainer that has trained with its own seeds: what load_checkpoint must leave alone.
  TrainingRun s(Layers::both, Opt::sgd, 77, 1234, 1);
  s.trainer->train_epoch(s.data);
  const StateDict before = s.everything();
  auto unchanged = [&] { CHECK(state_difference(s.everything(), before) == ""); };

  SECTION("another architecture") {
    TrainingRun dropout_only(Layers::dropout, Opt::sgd, 1, 1, 1);
    require_refused([&] { dropout_only.trainer->load_checkpoint(dir / "sgd.safetensors"); },
                    {"saved from another model", "BatchNorm1d", "ReLU()", "Build the model"});
    TrainingRun wider(Layers::both, Opt::sgd, 1, 1, 1, kHidden + 1);
    require_refused([&] { wider.trainer->load_checkpoint(dir / "sgd.safetensors"); },
                    {"saved from another model", "out_features=16", "out_features=17"});
  }
  SECTION("another optimizer") {
    TrainingRun adam(Layers::both, Opt::adam, 1, 1, 1);
    const StateDict adam_before = adam.everything();
    require_refused([&] { adam.trainer->load_checkpoint(dir / "sgd.safetensors"); },
                    {"SGD(lr=0.05", "this trainer's optimizer is Adam(", "an optimizer of type SGD"});
    CHECK(state_difference(adam.everything(), adam_before) == "");
  }
  SECTION("a missing tensor") {
    require_refused([&] { s.trainer->load_checkpoint(dir / "no_step.safetensors"); },
                    {"the optimizer state ('vkgrad.optimizer.*') does not fit", "missing 'step'"});
    unchanged();
    require_refused([&] { s.trainer->load_checkpoint(dir / "no_epochs.safetensors"); },
                    {"missing 'vkgrad.trainer.epochs_done'"});
    unchanged();
  }
  SECTION("a file that is not a Trainer checkpoint") {
    require_refused([&] { s.trainer->load_checkpoint(dir / "plain.safetensors"); },
                    {"not a Trainer checkpoint", "Sequential::load_state_dict"});
    unchanged();
  }
  SECTION("a truncated, corrupt or missing file") {
    require_refused([&] { s.trainer->load_checkpoint(dir / "truncated.safetensors"); }, {"truncated.safetensors"});
    require_refused([&] { s.trainer->load_checkpoint(dir / "corrupt.safetensors"); }, {"corrupt.safetensors"});
    require_refused([&] { s.trainer->load_checkpoint(dir / "missing.safetensors"); },
                    {"missing.safetensors", "No such file"});
    unchanged();
  }
  // The trainer still trains after a refusal, and the good checkpoint loads.
  s.trainer->load_checkpoint(dir / "sgd.safetensors");
  CHECK(s.trainer->epochs_done() == 1);
  s.trainer->train_epoch(s.data);
  require_no_validation_messages();
}

}  // namespace vkgrad::test
