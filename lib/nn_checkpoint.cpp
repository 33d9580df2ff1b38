// Exact checkpoints: Sequential's training state (step counter, dropout seed) and the Trainer's one
// file of model, optimizer and trainer state.
//
// File layout (safetensors): the model's state_dict under its PyTorch names, then vkgrad's own state
// under "vkgrad.": "vkgrad.model.*" (Sequential::training_state), "vkgrad.optimizer.*" (the
// optimizer's state_dict), "vkgrad.trainer.*" (epochs done, shuffle seed) and "vkgrad.mask.*"
// (each set weight mask, U8 0/1 in W's shape, lib/nn_mask.hpp). The metadata records
// the layout version and the model's and optimizer's reprs, so a checkpoint that does not fit is
// refused with a message saying what differs before anything is loaded.
#include <algorithm>
#include <bit>
#include <sstream>

#include "nn_mask.hpp"
#include "nn_replica.hpp"
#include "nn_state.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

namespace {

// The value of "vkgrad.checkpoint" in the metadata: the layout described above, version 1.
constexpr const char* kCheckpointLayout = "vkgrad.Trainer/1";
constexpr std::string_view kVkgradPrefix = "vkgrad.";
constexpr std::string_view kModelPrefix = "vkgrad.model.";
constexpr std::string_view kOptimizerPrefix = "vkgrad.optimizer.";
constexpr std::string_view kTrainerPrefix = "vkgrad.trainer.";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// PyTorch's print(model) for a Sequential: one "(i): Module(...)" line per layer.
std::string sequential_repr(Sequential& model) {
  std::ostringstream s;
  s << "Sequential(\n";
  for (std::size_t i = 0; i < model.size(); ++i) s << "  (" << i << "): " << model[i].to_string() << "\n";
  s << ")";
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What differs between the reprs of the saved model and of this one: the first differing layer, or
// the layer counts.
std::string repr_difference(const std::string& saved, const std::string& current) {
  const auto a = lines_of(saved), b = lines_of(current);
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return "the checkpoint has '" + a[i] + "' where this model has '" + b[i] + "'";
  }
  return "the checkpoint's model has " + std::to_string(a.size()) + " lines in its repr, this one " +
         std::to_string(b.size());
}

// "Adam" of "Adam(lr=0.001, ...)".
std::string type_of_repr(const std::string& repr) { return repr.substr(0, repr.find('(')); }

// The 64 bits of a seed as an I64 scalar and back.
HostTensor seed_tensor(uint64_t seed) { return HostTensor::scalar_i64(std::bit_cast<int64_t>(seed)); }
uint64_t seed_of(const HostTensor& t, std::string_view name) { return std::bit_cast<uint64_t>(t.to_i64(name)); }

// Checks that `section` holds exactly `names` (after `prefix`), each an I64 scalar; throws one
// InvalidArgument listing every problem, naming the keys as they are in the file.
void require_i64_scalars(const state::StateDict& section, const std::vector<std::string>& names,
                         std::string_view prefix, std::string_view where) {
  auto key = [&](const std::string& name) {
    std::string quoted = "'";
    quoted.append(prefix).append(name).append("'");
    return quoted;
  };
  std::vector<std::string> problems;
  for (const auto& name : names) {
    std::size_t seen = 0;
    for (const auto& [n, t] : section) {
      if (n != name) continue;
      ++seen;
      if (t.dtype != "I64" || !t.shape.empty()) problems.push_back(key(name) + " is not an I64 scalar");
    }
    if (seen == 0) problems.push_back("missing " + key(name));
    if (seen > 1) problems.push_back(key(name) + " appears twice");
  }
  for (const auto& [n, t] : section) {
    if (std::find(names.begin(), names.end(), n) == names.end()) problems.push_back("unexpected " + key(n));
  }
  if (problems.empty()) return;
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "; ") + p;
  state::fail(where, msg);
}

const std::vector<std::string>& training_state_names() {
  static const std::vector<std::string> names{"step_counter", "dropout_seed"};
  return names;
}

}  // namespace

// --- Sequential ---

std::vector<std::pair<std::string, HostTensor>> Sequential::training_state() {
  return {{"step_counter", HostTensor::scalar_i64(state::read_counter(step_))},
          {"dropout_seed", seed_tensor(dropout_seed_)}};
}

void Sequential::load_training_state(const std::vector<std::pair<std::string, HostTensor>>& state) {
  const std::string_view where = "Sequential::load_training_state";
  require_i64_scalars(state, training_state_names(), "", where);
  const int64_t step = state::find_state(state, "step_counter").to_i64("step_counter");
  if (step < 0 || step > 0x7fffffff)
    state::fail(where, "'step_counter' is out of range: " + std::to_string(step) + " (expected [0, 2^31))");
  state::write_counter(step_, step, "step_counter");
  set_dropout_seed(seed_of(state::find_state(state, "dropout_seed"), "dropout_seed"));
}

// --- Trainer ---

void Trainer::save_checkpoint(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata) {
  ReplicaGroup* group = options().replicas;
  if (group == nullptr) return save_checkpoint_file(path, metadata);
  // Rank 0 writes; the others wait for it, so the file exists when any replica returns, and
  // throw its error when it failed.
  replica::run_on_root(*group, 0, [&] { save_checkpoint_file(path, metadata); });
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  ReplicaGroup* group = options().replicas;
  if (group == nullptr) return load_checkpoint_file(path);
  // Rank 0 reads (the file may exist only on its machine) and broadcasts what it loaded.
  replica::run_on_root(*group, 0, [&] { load_checkpoint_file(path); });
  broadcast_state(*group, model(), &optimizer(), 0);
  const uint64_t seed = replica::broadcast_u64(*group, options().seed, 0);
  resume_at(seed, replica::broadcast_u64(*group, epochs_done(), 0));
}

void Trainer::save_checkpoint_file(const std::filesystem::path& path,
                                   const std::map<std::string, std::string>& metadata) {
  for (const auto& [key, value] : metadata) {
    if (key == "format" || starts_with(key, kVkgradPrefix)) {
      state::fail("Trainer::save_checkpoint", "metadata key '" + key +
                                                  "' is reserved for the checkpoint's own metadata; choose a "
                                                  "key that is not \"format\" and does not start with \"vkgrad.\"");
    }
  }
  Sequential& net = model();
  Optimizer& opt = optimizer();
  state::StateDict tensors = net.state_dict();
  for (auto& [name, t] : net.training_state()) tensors.emplace_back(std::string(kModelPrefix) + name, std::move(t));
  for (auto& [name, t] : opt.state_dict()) tensors.emplace_back(std::string(kOptimizerPrefix) + name, std::move(t));
  tensors.emplace_back(std::string(kTrainerPrefix) + "epochs_done",
                       HostTensor::scalar_i64(static_cast<int64_t>(epochs_done())));
  tensors.emplace_back(std::string(kTrainerPrefix) + "seed", seed_tensor(options().seed));
  for (auto& entry : masks::checkpoint_state(net)) tensors.push_back(std::move(entry));
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";  // as safetensors.torch.save_file writes it
  meta["vkgrad.checkpoint"] = kCheckpointLayout;
  meta["vkgrad.model"] = sequential_repr(net);
  meta["vkgrad.optimizer"] = opt.to_string();
  save_safetensors(path, tensors, meta);
}

void Trainer::load_checkpoint_file(const std::filesystem::path& path) {
  const std::string where = "Trainer::load_checkpoint: " + path.string();
  const SafetensorsFile file = load_safetensors(path);  // missing, truncated or corrupt: InvalidArgument
  Sequential& net = model();
  Optimizer& opt = optimizer();

  const auto layout = file.metadata.find("vkgrad.checkpoint");
  if (layout == file.metadata.end()) {
    state::fail(where,
                "not a Trainer checkpoint (no \"vkgrad.checkpoint\" metadata); a file with only a model's "
                "state_dict loads with Sequential::load_state_dict (see load_checkpoint_model_state)");
  }
  if (layout->second != kCheckpointLayout) {
    state::fail(where, "checkpoint layout '" + layout->second + "' is not the one this vkgrad reads ('" +
                           kCheckpointLayout + "')");
  }
  const auto saved_model = file.metadata.find("vkgrad.model");
  const std::string current_model = sequential_repr(net);
  if (saved_model == file.metadata.end() || saved_model->second != current_model) {
    state::fail(where, "it was saved from another model: " +
                           (saved_model == file.metadata.end() ? std::string("it has no \"vkgrad.model\" metadata")
                                                               : repr_difference(saved_model->second, current_model)) +
                           ". Build the model with the checkpoint's layers and sizes to resume it");
  }
  const auto saved_optimizer = file.metadata.find("vkgrad.optimizer");
  const std::string current_optimizer = opt.to_string();
  if (saved_optimizer == file.metadata.end() ||
      type_of_repr(saved_optimizer->second) != type_of_repr(current_optimizer)) {
    if (saved_optimizer == file.metadata.end()) {
      state::fail(where, "it has no \"vkgrad.optimizer\" metadata, so it cannot be matched to this trainer's " +
                             current_optimizer);
    }
    state::fail(where, "it holds the state of " + saved_optimizer->second + " but this trainer's optimizer is " +
                           current_optimizer + ": resume it with an optimizer of type " +
                           type_of_repr(saved_optimizer->second));
  }

  // The file's tensors by part; keys under "vkgrad." outside the four parts are refused.
  state::StateDict model_state, training, optimizer_state, trainer, weight_masks;
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : file.tensors) {
    if (starts_with(name, masks::kCheckpointPrefix)) {
      weight_masks.emplace_back(name.substr(masks::kCheckpointPrefix.size()), t);
    } else if (starts_with(name, kModelPrefix)) {
      training.emplace_back(name.substr(kModelPrefix.size()), t);
    } else if (starts_with(name, kOptimizerPrefix)) {
      optimizer_state.emplace_back(name.substr(kOptimizerPrefix.size()), t);
    } else if (starts_with(name, kTrainerPrefix)) {
      trainer.emplace_back(name.substr(kTrainerPrefix.size()), t);
    } else if (starts_with(name, kVkgradPrefix)) {
      unexpected.push_back(name);
    } else {
      model_state.emplace_back(name, t);
    }
  }
  if (!unexpected.empty()) state::fail(where, "unexpected tensor '" + unexpected.front() + "'");
  require_i64_scalars(trainer, {"epochs_done", "seed"}, kTrainerPrefix, where);
  require_i64_scalars(training, training_state_names(), kModelPrefix, where);
  const int64_t epochs = state::find_state(trainer, "epochs_done").to_i64("epochs_done");
  if (epochs < 0) state::fail(where, "'vkgrad.trainer.epochs_done' is negative: " + std::to_string(epochs));
  const uint64_t seed = seed_of(state::find_state(trainer, "seed"), "seed");
  const masks::Restore restore_masks = masks::parse_checkpoint_state(net, weight_masks, where);

  // Each load validates its part before changing anything; the first part is loaded before the
  // next is validated, so put everything back as it was when a later part is refused.
  const state::StateDict model_before = net.state_dict(), training_before = net.training_state(),
                         optimizer_before = opt.state_dict();
  std::string part = "the model's state_dict";
  try {
    net.load_state_dict(model_state);
    part = "the model's training state ('vkgrad.model.*')";
    net.load_training_state(training);
    part = "the optimizer state ('vkgrad.optimizer.*')";
    opt.load_state_dict(optimizer_state);
  } catch (const InvalidArgument& e) {
    net.load_state_dict(model_before);
    net.load_training_state(training_before);
    opt.load_state_dict(optimizer_before);
    state::fail(where, part + " does not fit: " + e.what());
  }
  // Last, as every part above is in: the file's masks, and none where it has none (the weights
  // just loaded already hold zeros where they are 0).
  restore_masks.apply();
  resume_at(seed, static_cast<uint64_t>(epochs));
}

std::vector<std::pair<std::string, HostTensor>> load_checkpoint_model_state(const std::filesystem::path& path) {
  SafetensorsFile file = load_safetensors(path);
  state::StateDict model_state;
  for (auto& [name, t] : file.tensors) {
    if (!starts_with(name, kVkgradPrefix)) model_state.emplace_back(name, std::move(t));
  }
  return model_state;
}

}  // namespace vkgrad::nn
