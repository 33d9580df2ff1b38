// State-dict and formatting helpers shared by the nn modules (nn.cpp) and optimizers (nn_optim.cpp).
#include "nn_state.hpp"

#include <map>
#include <sstream>

#include "vkgrad/error.hpp"

namespace vkgrad::nn::state {

[[noreturn]] void fail(std::string_view where, const std::string& what) {
  throw InvalidArgument("vkgrad: " + std::string(where) + ": " + what);
}

// PyTorch's repr of a float argument: "0.001", "1e-05", "0.2".
std::string fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

int32_t read_counter(const Tensor& counter) { return counter.to_vector<int32_t>().at(0); }

void write_counter(Tensor& counter, int64_t value, std::string_view name) {
  if (value < 0 || value > 0x7fffffff)
    fail("load_state_dict", "'" + std::string(name) + "' is out of range: " + std::to_string(value));
  counter.upload<int32_t>(std::vector<int32_t>{static_cast<int32_t>(value)});
}

// Checks that `state` holds exactly `expected` (name → tensor it will be loaded into, or null for
// names handled by the caller), each with the tensor's dtype and shape; throws one message listing
// every problem. Nothing is modified.
void validate_state(const StateDict& state, const std::vector<std::pair<std::string, Tensor*>>& expected,
                    const std::set<std::string>& extra_names, std::string_view where) {
  std::map<std::string, const HostTensor*> given;
  std::vector<std::string> problems;
  for (const auto& [name, h] : state) {
    if (!given.emplace(name, &h).second) problems.push_back("'" + name + "' appears twice");
  }
  std::set<std::string> known(extra_names);
  for (const auto& [name, tensor] : expected) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      problems.push_back("missing '" + name + "'");
      continue;
    }
    const HostTensor& h = *it->second;
    const std::string want_dtype = safetensors_dtype(tensor->dtype());
    const auto dims = tensor->shape().dims();
    if (h.dtype != want_dtype || !std::equal(h.shape.begin(), h.shape.end(), dims.begin(), dims.end())) {
      std::string got = "[";
      for (std::size_t i = 0; i < h.shape.size(); ++i) got += (i ? ", " : "") + std::to_string(h.shape[i]);
      got += "]";
      problems.push_back("'" + name + "' is " + h.dtype + " " + got + " but the model expects " + want_dtype + " " +
                         tensor->shape().to_string());
    }
  }
  for (const auto& name : extra_names) {
    if (!given.count(name)) problems.push_back("missing '" + name + "'");
  }
  for (const auto& [name, h] : given) {
    if (!known.count(name)) problems.push_back("unexpected '" + name + "'");
  }
  if (!problems.empty()) {
    std::string msg = "the checkpoint does not match this model/optimizer (" + std::to_string(problems.size()) +
                      " problem" + (problems.size() > 1 ? "s" : "") + "): ";
    for (std::size_t i = 0; i < problems.size() && i < 8; ++i) msg += (i ? "; " : "") + problems[i];
    if (problems.size() > 8) msg += "; ...";
    msg += ". Was it saved from a model built with the same layers and sizes?";
    fail(where, msg);
  }
}

const HostTensor& find_state(const StateDict& state, const std::string& name) {
  for (const auto& [n, h] : state) {
    if (n == name) return h;
  }
  fail("load_state_dict", "missing '" + name + "'");
}

// Seeds for layer i of a model seeded with `seed`: SplitMix64 of the pair, so neighbouring layers
// (and neighbouring model seeds) get unrelated streams.
uint64_t mix_seed(uint64_t seed, uint64_t i) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {

void collect_linears(Module& module, const std::string& prefix, std::vector<std::pair<std::string, Linear*>>& out) {
  if (auto* linear = dynamic_cast<Linear*>(&module)) {
    out.emplace_back(prefix + "weight", linear);
  } else if (auto* sequential = dynamic_cast<Sequential*>(&module)) {
    for (std::size_t i = 0; i < sequential->size(); ++i) {
      collect_linears((*sequential)[i], prefix + std::to_string(i) + ".", out);
    }
  } else if (auto* residual = dynamic_cast<Residual*>(&module)) {
    collect_linears(residual->fn(), prefix + "fn.", out);
  }
}

}  // namespace

std::vector<std::pair<std::string, Linear*>> linear_layers(Module& model) {
  std::vector<std::pair<std::string, Linear*>> out;
  collect_linears(model, "", out);
  return out;
}

uint64_t features_of(const Tensor& t, std::string_view where, std::string_view role) {
  if (t.empty() || t.shape().rank() < 1) fail(where, "'" + std::string(role) + "' is empty");
  return t.numel() / t.shape()[0];
}

}  // namespace vkgrad::nn::state
