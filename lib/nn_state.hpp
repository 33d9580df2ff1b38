// Internal helpers of the nn layer (lib/nn*.cpp): errors, PyTorch-style number formatting, the
// device step counters and state-dict validation.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

}  // namespace vkgrad::nn::state
