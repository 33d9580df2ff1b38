// Internal helpers of the nn layer (lib/nn*.cpp): errors, PyTorch-style number formatting, the
// device step counters, state-dict validation and recording in a given mode.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vkgrad/nn.hpp"
#include "vkgrad/safetensors.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn::state {

/// Throws InvalidArgument("vkgrad: <where>: <what>").
[[noreturn]] void fail(std::string_view where, const std::string& what);

/// PyTorch's repr of a float argument: "0.001", "1e-05", "0.2".
std::string fmt(double v);

/// The value of a one-element i32 device counter (synchronous).
int32_t read_counter(const Tensor& counter);
/// Sets a one-element i32 device counter to `value` (load_state_dict's `name`), InvalidArgument
/// when it does not fit.
void write_counter(Tensor& counter, int64_t value, std::string_view name);

using StateDict = std::vector<std::pair<std::string, HostTensor>>;

/// Checks that `state` holds exactly `expected` (name → tensor it will be loaded into) plus
/// `extra_names` (handled by the caller), each expected one with its tensor's dtype and shape;
/// throws one InvalidArgument listing every problem. Nothing is modified.
void validate_state(const StateDict& state, const std::vector<std::pair<std::string, Tensor*>>& expected,
                    const std::set<std::string>& extra_names, std::string_view where);

/// The entry called `name`; InvalidArgument when missing.
const HostTensor& find_state(const StateDict& state, const std::string& name);

/// Seeds for layer i of a model seeded with `seed`: SplitMix64 of the pair, so neighbouring layers
/// (and neighbouring model seeds) get unrelated streams.
uint64_t mix_seed(uint64_t seed, uint64_t i);

/// Values per row of `t` (its elements over its first dimension); InvalidArgument naming `role`
/// when it is empty.
uint64_t features_of(const Tensor& t, std::string_view where, std::string_view role);

/// Every Linear of `model` (inside nested Sequentials and Residuals too) with its weight's
/// state_dict name ("0.weight", "2.fn.0.weight"), in state_dict order: a Sequential names layer i
/// "<i>.", a Residual its module "fn.", as their parameters() do.
std::vector<std::pair<std::string, Linear*>> linear_layers(Module& model);

/// Puts `module` in training or eval mode for its lifetime (while a pass is recorded in that mode),
/// then back in the mode it was in, also when the recording throws.
class ModeWhileRecording {
 public:
  ModeWhileRecording(Module& module, bool training) : module_(module), was_training_(module.training()) {
    module_.set_training(training);
  }
  ~ModeWhileRecording() { module_.set_training(was_training_); }
  ModeWhileRecording(const ModeWhileRecording&) = delete;
  ModeWhileRecording& operator=(const ModeWhileRecording&) = delete;

 private:
  Module& module_;
  bool was_training_;
};

}  // namespace vkgrad::nn::state
