// Weight masks inside the recorded training step: pruned weights, their gradients and their
// optimizer state stay exactly +0 over replayed steps (SGD with momentum, nesterov and weight
// decay, Adam, AdamW); kept weights follow an unmasked run where the gradients agree, and an
// all-ones mask trains bit-identically to none; new mask values take effect
// in a list recorded before them; the Trainer records again when a mask is set or removed; a
// masked run resumes bit-identically from a checkpoint; misuse is refused.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <functional>
#include <memory>
#include <tuple>

#include "harness.hpp"
#include "nn_fixtures.hpp"
#include "thread_replicas.hpp"

// A namespace of its own: the unity build compiles this file with other tests that define the same
// helper names (Opt, kCount, name_of).
namespace vkgrad::test::weight_masks {
namespace {

using nn::Sequential;
using StateDict = std::vector<std::pair<std::string, HostTensor>>;

// 203 samples in batches of 32: 7 steps per epoch.
constexpr uint64_t kCount = 203, kFeatures = 12, kHidden = 16, kClasses = 3, kBatch = 32;

enum class Opt { sgd_momentum, sgd_nesterov_decay, adam, adamw };

const char* name_of(Opt o) {
  switch (o) {
    case Opt::sgd_momentum: return "SGD(momentum=0.9)";
    case Opt::sgd_nesterov_decay: return "SGD(momentum=0.9, nesterov, weight_decay=0.01)";
    case Opt::adam: return "Adam";
    case Opt::adamw: return "AdamW";
  }
  return "";
}

// A 0/1 mask of n values keeping about half, drawn from `seed`.
std::vector<float> half_mask(std::size_t n, uint64_t seed) {
  const auto u = uniform(n, 0.0f, 1.0f, seed);
  std::vector<float> mask(n);
  for (std::size_t i = 0; i < n; ++i) mask[i] = u[i] < 0.5f ? 1.0f : 0.0f;
  return mask;
}

// The optimizer `opt` over `module`'s parameters.
std::unique_ptr<nn::Optimizer> make_optimizer(Opt opt, nn::Module& module) {
  switch (opt) {
    case Opt::sgd_momentum: return std::make_unique<nn::SGD>(module, SgdOptions{.lr = 0.05f, .momentum = 0.9f});
    case Opt::sgd_nesterov_decay:
      return std::make_unique<nn::SGD>(
          module, SgdOptions{.lr = 0.05f, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f});
    case Opt::adam: return std::make_unique<nn::Adam>(module, AdamOptions{.lr = 1e-2f});
    case Opt::adamw: break;
  }
  AdamOptions o = adamw_options();
  o.lr = 1e-2f;
  return std::make_unique<nn::Adam>(module, o);
}

// Linear → ReLU → Linear with an optimizer and a trainer on context().
struct MaskedRun {
  Sequential model;
  nn::CrossEntropyLoss loss;
  std::unique_ptr<nn::Optimizer> optimizer;
  std::unique_ptr<nn::Trainer> trainer;
  nn::DeviceDataset data;

  // `group`: a data-parallel replica of `group`; `before_trainer` runs before the trainer is made.
  MaskedRun(Opt opt, uint64_t model_seed, uint64_t trainer_seed, nn::ReplicaGroup* group = nullptr,
            const std::function<void(MaskedRun&)>& before_trainer = {})
      : model(context()), loss(context()), data(synthetic(context(), kCount, kFeatures, kClasses, 1)) {
    model.emplace<nn::Linear>(kFeatures, kHidden);
    model.emplace<nn::Activation>(Activation::relu);
    model.emplace<nn::Linear>(kHidden, kClasses);
    CommandList cmd(context());
    model.reset_parameters(cmd, model_seed);
    cmd.run();
    optimizer = make_optimizer(opt, model);
    nn::TrainerOptions o;
    o.batch = kBatch;
    o.seed = trainer_seed;
    o.steps_per_submit = 3;
    o.replicas = group;
    if (before_trainer) before_trainer(*this);
    trainer = std::make_unique<nn::Trainer>(context(), model, loss, *optimizer, o);
  }

  nn::Linear& layer(std::size_t i) { return dynamic_cast<nn::Linear&>(model[i]); }

  // Masks both Linear layers (0.weight and 2.weight) with half_mask(seed), (seed + 1).
  void mask_both(uint64_t seed) {
    layer(0).set_weight_mask(half_mask(kHidden * kFeatures, seed));
    layer(2).set_weight_mask(half_mask(kClasses * kHidden, seed + 1));
  }

  // The tensors that must be +0 where `name`'s mask is 0: the weight and its optimizer state.
  std::vector<std::pair<std::string, std::vector<float>>> masked_tensors(const std::string& name) {
    std::vector<std::pair<std::string, std::vector<float>>> out;
    for (auto& [n, t] : model.state_dict()) {
      if (n == name) out.emplace_back(n, t.to_floats());
    }
    for (auto& [n, t] : optimizer->state_dict()) {
      if (n.rfind(name + ".", 0) == 0) out.emplace_back(n, t.to_floats());
    }
    return out;
  }
};

// Every element of the weight `name` and of its optimizer state is +0 (bitwise) where `mask` is 0;
// returns the weight.
std::vector<float> require_pruned_zero(MaskedRun& run, const std::string& name, const std::vector<float>& mask,
                                       std::size_t expected_tensors) {
  const auto tensors = run.masked_tensors(name);
  REQUIRE(tensors.size() == expected_tensors);
  for (const auto& [n, values] : tensors) {
    REQUIRE(values.size() == mask.size());
    std::size_t not_zero = 0, first = 0;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] == 0.0f && std::bit_cast<uint32_t>(values[i]) != 0u && not_zero++ == 0) first = i;
    }
    INFO(n << ": " << not_zero << " pruned elements are not +0, the first [" << first << "] = " << values[first]);
    CHECK(not_zero == 0);
  }
  return tensors.front().second;
}

// Tensors (weight plus optimizer state) of one masked parameter, per optimizer.
std::size_t state_tensors(Opt opt) { return opt == Opt::adam || opt == Opt::adamw ? 3 : 2; }

}  // namespace

TEST_CASE("masked weights and their optimizer state stay +0 over replayed steps", "[nn][mask]") {
  for (Opt opt : {Opt::sgd_momentum, Opt::sgd_nesterov_decay, Opt::adam, Opt::adamw}) {
    INFO(name_of(opt));
    MaskedRun run(opt, 5, 11);
    run.mask_both(100);
    const auto before = run.layer(0).weight().to_vector();
    for (int e = 0; e < 4; ++e) run.trainer->train_epoch(run.data);  // 28 replayed steps
    REQUIRE(run.optimizer->steps() == 28);
    const auto mask0 = run.layer(0).weight_mask_values(), mask2 = run.layer(2).weight_mask_values();
    const auto w0 = require_pruned_zero(run, "0.weight", mask0, state_tensors(opt));
    require_pruned_zero(run, "2.weight", mask2, state_tensors(opt));
    // The kept weights trained (a hidden unit that no sample activates gets no gradient, so not
    // every one need move) and are finite.
    std::size_t kept = 0, moved = 0, finite = 0;
    for (std::size_t i = 0; i < mask0.size(); ++i) {
      if (mask0[i] == 0.0f) continue;
      ++kept;
      moved += w0[i] != before[i];
      finite += std::isfinite(w0[i]);
    }
    CHECK(kept > 0);
    CHECK(moved > 0);
    CHECK(finite == kept);
    require_no_validation_messages();
  }
}

TEST_CASE("kept weights follow the unmasked run bit for bit where the gradients agree", "[nn][mask]") {
  // A Linear layer replayed with a fixed dy: its weight gradient dyᵀ·x does not depend on W, so a
  // masked and an unmasked layer get the same gradient at every kept element, and each optimizer
  // updates elementwise: the kept weights and state must be the unmasked run's bits.
  Context& ctx = context();
  const auto init = uniform(35, -1.0f, 1.0f, 50), mask = half_mask(35, 51);
  Tensor x = Tensor::from(ctx, {9, 7}, uniform(63, -1.0f, 1.0f, 52));
  Tensor dy = Tensor::from(ctx, {9, 5}, uniform(45, -1.0f, 1.0f, 53));
  for (Opt opt : {Opt::sgd_momentum, Opt::sgd_nesterov_decay, Opt::adam, Opt::adamw}) {
    INFO(name_of(opt));
    nn::Linear plain(ctx, 7, 5), masked(ctx, 7, 5);
    plain.weight().upload(init);
    masked.weight().upload(init);
    masked.set_weight_mask(mask);
    auto plain_opt = make_optimizer(opt, plain), masked_opt = make_optimizer(opt, masked);
    Tensor y(ctx, {9, 5}), dx;
    CommandList plain_step(ctx), masked_step(ctx);
    for (auto [layer, optimizer, step] :
         {std::tuple{&plain, plain_opt.get(), &plain_step}, std::tuple{&masked, masked_opt.get(), &masked_step}}) {
      layer->forward(*step, x, y);
      layer->backward(*step, x, y, dy, dx);
      optimizer->record_step(*step);
    }
    for (int r = 0; r < 25; ++r) {
      plain_step.run();
      masked_step.run();
    }
    // The weight, then each state tensor of "weight".
    std::vector<std::pair<std::string, std::vector<float>>> a{{"weight", plain.weight().to_vector()}},
        b{{"weight", masked.weight().to_vector()}};
    for (auto& [n, t] : plain_opt->state_dict()) {
      if (n.rfind("weight.", 0) == 0) a.emplace_back(n, t.to_floats());
    }
    for (auto& [n, t] : masked_opt->state_dict()) {
      if (n.rfind("weight.", 0) == 0) b.emplace_back(n, t.to_floats());
    }
    REQUIRE(a.size() == state_tensors(opt));
    REQUIRE(b.size() == a.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
      INFO(a[k].first);
      std::size_t wrong = 0, moved = 0;
      for (std::size_t i = 0; i < mask.size(); ++i) {
        const uint32_t want = mask[i] == 0.0f ? 0u : std::bit_cast<uint32_t>(a[k].second[i]);
        wrong += std::bit_cast<uint32_t>(b[k].second[i]) != want;
        moved += k == 0 && mask[i] != 0.0f && b[k].second[i] != init[i];
      }
      CHECK(wrong == 0);
      if (k == 0) CHECK(moved > 0);
    }
    require_no_validation_messages();
  }
}

TEST_CASE("an all-ones mask trains bit-identically to no mask", "[nn][mask]") {
  for (Opt opt : {Opt::sgd_nesterov_decay, Opt::adamw}) {
    INFO(name_of(opt));
    MaskedRun plain(opt, 5, 11), ones(opt, 5, 11);
    ones.layer(0).set_weight_mask(std::vector<float>(kHidden * kFeatures, 1.0f));
    ones.layer(2).set_weight_mask(std::vector<float>(kClasses * kHidden, 1.0f));
    for (int e = 0; e < 2; ++e) {
      const nn::Metrics a = plain.trainer->train_epoch(plain.data), b = ones.trainer->train_epoch(ones.data);
      CHECK(a.loss == b.loss);
    }
    CHECK(all_weights(plain.model) == all_weights(ones.model));
    for (auto& [n, t] : plain.optimizer->state_dict()) {
      INFO(n);
      bool found = false;
      for (auto& [m, u] : ones.optimizer->state_dict()) {
        if (m != n) continue;
        found = true;
        CHECK(t.bytes == u.bytes);
      }
      CHECK(found);
    }
    require_no_validation_messages();
  }
}

TEST_CASE("new mask values take effect in a step recorded before them", "[nn][mask]") {
  Context& ctx = context();
  for (Opt opt : {Opt::sgd_momentum, Opt::adam}) {
    INFO(name_of(opt));
    nn::Linear lin(ctx, 6, 5);
    const auto first = half_mask(30, 7);
    lin.set_weight_mask(first);
    // The low-level optimizers over the layer's parameters, each with its Parameter::mask.
    std::vector<ParamRef> refs;
    for (const nn::Parameter& p : lin.parameters()) refs.push_back({p.value, p.grad, p.mask});
    std::unique_ptr<Sgd> sgd;
    std::unique_ptr<vkgrad::Adam> adam;
    if (opt == Opt::sgd_momentum) {
      sgd = std::make_unique<Sgd>(ctx, refs, SgdOptions{.lr = 0.1f, .momentum = 0.9f});
    } else {
      adam = std::make_unique<vkgrad::Adam>(ctx, refs, AdamOptions{.lr = 0.1f});
    }
    Tensor x = Tensor::from(ctx, {4, 6}, uniform(24, -1.0f, 1.0f, 3));
    Tensor y(ctx, {4, 5}), dx;
    Tensor dy = Tensor::from(ctx, {4, 5}, uniform(20, -1.0f, 1.0f, 4));
    CommandList step(ctx);
    lin.forward(step, x, y);
    lin.backward(step, x, y, dy, dx);
    if (sgd) sgd->record_step(step);
    if (adam) adam->record_step(step);
    for (int r = 0; r < 3; ++r) step.run();
    // Pruned by the second mask only: these weights and states are nonzero now and must become +0.
    auto second = first;
    for (std::size_t i = 0; i < second.size(); ++i) second[i] = i % 3 == 0 ? 0.0f : 1.0f - first[i] * (i % 2);
    const auto w_first = lin.weight().to_vector();
    lin.set_weight_mask(second);  // the same mask tensor: no new recording
    const auto w_set = lin.weight().to_vector();
    for (int r = 0; r < 3; ++r) step.run();
    const auto w = lin.weight().to_vector(), g = lin.weight_grad().to_vector();
    std::vector<std::vector<float>> state;
    if (sgd) state.push_back(sgd->state(0).momentum_buffer.to_vector());
    if (adam) state = {adam->state(0).exp_avg.to_vector(), adam->state(0).exp_avg_sq.to_vector()};
    std::size_t newly_pruned = 0, newly_kept = 0;
    for (std::size_t i = 0; i < second.size(); ++i) {
      INFO("element " << i << ", masks " << first[i] << " then " << second[i]);
      if (second[i] == 0.0f) {
        CHECK(std::bit_cast<uint32_t>(w_set[i]) == 0u);  // set_weight_mask zeroes at once
        CHECK(std::bit_cast<uint32_t>(w[i]) == 0u);
        CHECK(std::bit_cast<uint32_t>(g[i]) == 0u);
        for (const auto& s : state) CHECK(std::bit_cast<uint32_t>(s[i]) == 0u);
        newly_pruned += first[i] != 0.0f;
      } else if (first[i] == 0.0f) {
        CHECK(w_first[i] == 0.0f);
        CHECK(w[i] != 0.0f);  // kept now: its gradient reaches it again
        ++newly_kept;
      }
    }
    CHECK(newly_pruned > 0);
    CHECK(newly_kept > 0);
    require_no_validation_messages();
  }
}

TEST_CASE("the Trainer records its steps again when a mask is set or removed, not for new values",
          "[nn][mask][trainer]") {
  MaskedRun run(Opt::sgd_momentum, 5, 11);
  run.trainer->train_epoch(run.data);  // recorded without masks; the momentum buffers are nonzero
  const auto first = half_mask(kHidden * kFeatures, 21);
  run.layer(0).set_weight_mask(first);
  run.trainer->train_epoch(run.data);
  require_pruned_zero(run, "0.weight", first, 2);
  // New values of the set mask: the same lists mask with them.
  const auto second = half_mask(kHidden * kFeatures, 22);
  run.layer(0).set_weight_mask(second);
  run.trainer->train_epoch(run.data);
  require_pruned_zero(run, "0.weight", second, 2);
  // Removed: weights pruned so far train again (lists recorded with the mask would keep them all 0).
  run.layer(0).remove_weight_mask();
  run.trainer->train_epoch(run.data);
  const auto w = run.layer(0).weight().to_vector();
  std::size_t pruned = 0, revived = 0;
  for (std::size_t i = 0; i < second.size(); ++i) {
    if (second[i] != 0.0f) continue;
    ++pruned;
    revived += w[i] != 0.0f;
  }
  CHECK(pruned > 0);
  CHECK(revived > 0);
  // Set again (a new mask tensor): masked again, and evaluation still runs.
  const auto third = half_mask(kHidden * kFeatures, 23);
  run.layer(0).set_weight_mask(third);
  run.trainer->train_epoch(run.data);
  require_pruned_zero(run, "0.weight", third, 2);
  const nn::Metrics m = run.trainer->evaluate(run.data);
  CHECK(std::isfinite(m.loss));
  require_no_validation_messages();
}

TEST_CASE("replicas take the first replica's masks when the Trainer is made and stay identical",
          "[nn][mask][trainer]") {
  context();  // made before the threads share it
  ThreadReplicas replicas(2);
  const auto mask = half_mask(kHidden * kFeatures, 31);
  std::vector<std::vector<float>> start(2), end(2), masks(2);
  std::vector<int> last_masked(2);
  replicas.run([&](int rank, nn::ReplicaGroup& group) {
    // Replica 0 masks layer 0; replica 1 starts from other weights with a mask on layer 2 instead.
    MaskedRun run(Opt::adam, rank == 0 ? 5 : 6, 11, &group, [&](MaskedRun& m) {
      if (rank == 0) m.layer(0).set_weight_mask(mask);
      if (rank == 1) m.layer(2).set_weight_mask(std::vector<float>(kClasses * kHidden, 1.0f));
    });
    const auto r = static_cast<std::size_t>(rank);
    start[r] = all_weights(run.model);
    last_masked[r] = run.layer(2).has_weight_mask();
    for (int e = 0; e < 2; ++e) run.trainer->train_epoch(run.data);
    end[r] = all_weights(run.model);
    masks[r] = run.layer(0).weight_mask_values();
  });
  require_no_validation_messages();
  CHECK(start[0] == start[1]);
  CHECK(last_masked == std::vector<int>{0, 0});
  CHECK(masks[0] == mask);
  CHECK(masks[1] == mask);
  CHECK(end[0] == end[1]);
  // all_weights begins with 0.weight.
  std::size_t not_zero = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) not_zero += mask[i] == 0.0f && std::bit_cast<uint32_t>(end[1][i]) != 0;
  CHECK(not_zero == 0);
}

TEST_CASE("load_checkpoint refuses a bad mask and changes nothing", "[nn][mask][trainer][checkpoint][bad-input]") {
  TempDir tmp("nn_mask_checkpoint");
  MaskedRun run(Opt::sgd_momentum, 5, 11);
  run.layer(0).set_weight_mask(half_mask(kHidden * kFeatures, 41));
  run.trainer->train_epoch(run.data);
  run.trainer->save_checkpoint(tmp.path / "good.safetensors");
  const SafetensorsFile good = load_safetensors(tmp.path / "good.safetensors");
  const auto weights = all_weights(run.model);
  const auto mask = run.layer(0).weight_mask_values();
  // Each variant of the file changes the mask tensor in one way; every one is refused whole.
  const auto refused = [&](const std::function<void(std::pair<std::string, HostTensor>&)>& change,
                           std::initializer_list<const char*> needles) {
    auto tensors = good.tensors;
    for (auto& entry : tensors) {
      if (entry.first == "vkgrad.mask.0.weight") change(entry);
    }
    save_safetensors(tmp.path / "bad.safetensors", tensors, good.metadata);
    require_refused([&] { run.trainer->load_checkpoint(tmp.path / "bad.safetensors"); }, needles);
    CHECK(all_weights(run.model) == weights);
    CHECK(run.layer(0).weight_mask_values() == mask);
    CHECK_FALSE(run.layer(2).has_weight_mask());
  };
  refused([](auto& e) { e.second.bytes[3] = 2; }, {"'vkgrad.mask.0.weight' holds 2 at element 3", "only 0 and 1"});
  refused([](auto& e) { e.first = "vkgrad.mask.1.weight"; }, {"'vkgrad.mask.1.weight' is not the mask"});
  refused(
      [](auto& e) {
        e.second = HostTensor::from_floats({kHidden, kFeatures}, half_mask(kHidden * kFeatures, 1));
      },
      {"'vkgrad.mask.0.weight' must be a U8 tensor in the weight's shape [16, 12], got F32"});
  refused([](auto& e) { e.second.shape = {kFeatures, kHidden}; }, {"'vkgrad.mask.0.weight' must be a U8 tensor"});
  require_no_validation_messages();
}

TEST_CASE("set_weight_mask refuses a mask of the wrong size or with values other than 0 and 1",
          "[nn][mask][bad-input]") {
  nn::Linear lin(context(), 4, 3);
  const auto weights = lin.weight().to_vector();
  require_refused([&] { lin.set_weight_mask(std::vector<float>(11, 1.0f)); },
                  {"set_weight_mask", "11 values", "(3, 4) has 12"});
  auto bad = std::vector<float>(12, 1.0f);
  bad[5] = 0.5f;
  require_refused([&] { lin.set_weight_mask(bad); }, {"set_weight_mask", "value 5", "row 1, column 1", "0 or 1"});
  bad[5] = std::nanf("");
  require_refused([&] { lin.set_weight_mask(bad); }, {"set_weight_mask", "value 5", "nan"});
  bad[5] = 2.0f;
  require_refused([&] { lin.set_weight_mask(bad); }, {"set_weight_mask", "value 5"});
  CHECK_FALSE(lin.has_weight_mask());
  CHECK(lin.weight().to_vector() == weights);
  require_no_validation_messages();
}

TEST_CASE("reset_parameters keeps a set mask's zeros", "[nn][mask]") {
  nn::Linear lin(context(), 5, 4);
  const auto mask = half_mask(20, 9);
  lin.set_weight_mask(mask);
  CommandList cmd(context());
  lin.reset_parameters(cmd, 1234);
  cmd.run();
  const auto w = lin.weight().to_vector();
  for (std::size_t i = 0; i < mask.size(); ++i) {
    INFO(i);
    if (mask[i] == 0.0f) CHECK(std::bit_cast<uint32_t>(w[i]) == 0u);
    if (mask[i] != 0.0f) CHECK(w[i] != 0.0f);
  }
  require_no_validation_messages();
}

}  // namespace vkgrad::test::weight_masks
