// The optimizers (SGD, Adam / AdamW) of include/vkgrad/nn/optim.hpp: thin owners of vkgrad::Sgd /
// vkgrad::Adam with PyTorch's reprs and state dicts.
#include "errors.hpp"
#include "nn_state.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

using namespace state;

// --- Optimizers ---

Optimizer::Optimizer(Optimizer&& other) noexcept
    : counter_(std::exchange(other.counter_, nullptr)), params_(std::exchange(other.params_, {})) {}

Optimizer& Optimizer::operator=(Optimizer&& other) noexcept {
  counter_ = std::exchange(other.counter_, nullptr);
  params_ = std::exchange(other.params_, {});
  return *this;
}

const Tensor& Optimizer::step_counter() const {
  if (!counter_) detail::fail_moved_from("optimizer");
  return *counter_;
}

int64_t Optimizer::steps() const { return read_counter(step_counter()); }

namespace {

// The implementation of an nn optimizer; InvalidArgument when it was moved from.
template <class Impl>
Impl& live(const std::unique_ptr<Impl>& impl) {
  if (!impl) detail::fail_moved_from("optimizer");
  return *impl;
}

std::vector<ParamRef> refs(const std::vector<Parameter>& params) {
  std::vector<ParamRef> r;
  for (const auto& p : params) r.push_back({p.value, p.grad, p.mask});
  return r;
}

std::vector<Parameter> checked_params(Module& model, std::string_view where) {
  auto params = model.parameters();
  if (params.empty()) fail(where, "the model has no parameters to optimize");
  return params;
}

}  // namespace

SGD::SGD(Module& model, SgdOptions options) {
  params_ = checked_params(model, "SGD");
  impl_ = std::make_unique<vkgrad::Sgd>(model.context(), refs(params_), options);
  counter_ = &impl_->step_count();
}

void SGD::record_step(CommandList& cmd) { live(impl_).record_step(cmd); }

std::string SGD::to_string() const {
  const auto& o = live(impl_).options();
  return "SGD(lr=" + fmt(o.lr) + ", momentum=" + fmt(o.momentum) + ", dampening=" + fmt(o.dampening) +
         ", weight_decay=" + fmt(o.weight_decay) + ", nesterov=" + (o.nesterov ? "True" : "False") + ")";
}

std::vector<std::pair<std::string, HostTensor>> SGD::state_dict() {
  vkgrad::Sgd& sgd = live(impl_);
  StateDict state{{"step", HostTensor::scalar_i64(steps())}};
  if (sgd.options().momentum != 0) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      state.emplace_back(params_[i].name + ".momentum_buffer", to_host(sgd.state(i).momentum_buffer));
    }
  }
  return state;
}

void SGD::load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) {
  vkgrad::Sgd& sgd = live(impl_);
  std::vector<std::pair<std::string, Tensor*>> expected;
  if (sgd.options().momentum != 0) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      expected.emplace_back(params_[i].name + ".momentum_buffer", &sgd.state(i).momentum_buffer);
    }
  }
  validate_state(state, expected, {"step"}, "SGD::load_state_dict");
  const int64_t step = find_state(state, "step").to_i64("step");
  for (auto& [name, tensor] : expected) load_into(find_state(state, name), *tensor, name);
  write_counter(const_cast<Tensor&>(sgd.step_count()), step, "step");
}

Adam::Adam(Module& model, AdamOptions options) {
  params_ = checked_params(model, options.decoupled ? "AdamW" : "Adam");
  impl_ = std::make_unique<vkgrad::Adam>(model.context(), refs(params_), options);
  counter_ = &impl_->step_count();
}

void Adam::record_step(CommandList& cmd) { live(impl_).record_step(cmd); }

std::string Adam::to_string() const {
  const auto& o = live(impl_).options();
  return std::string(o.decoupled ? "AdamW" : "Adam") + "(lr=" + fmt(o.lr) + ", betas=(" + fmt(o.beta1) + ", " +
         fmt(o.beta2) + "), eps=" + fmt(o.eps) + ", weight_decay=" + fmt(o.weight_decay) + ")";
}

std::vector<std::pair<std::string, HostTensor>> Adam::state_dict() {
  vkgrad::Adam& adam = live(impl_);
  StateDict state{{"step", HostTensor::scalar_i64(steps())}};
  for (std::size_t i = 0; i < params_.size(); ++i) {
    state.emplace_back(params_[i].name + ".exp_avg", to_host(adam.state(i).exp_avg));
    state.emplace_back(params_[i].name + ".exp_avg_sq", to_host(adam.state(i).exp_avg_sq));
  }
  return state;
}

void Adam::load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) {
  vkgrad::Adam& adam = live(impl_);
  std::vector<std::pair<std::string, Tensor*>> expected;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    expected.emplace_back(params_[i].name + ".exp_avg", &adam.state(i).exp_avg);
    expected.emplace_back(params_[i].name + ".exp_avg_sq", &adam.state(i).exp_avg_sq);
  }
  validate_state(state, expected, {"step"}, "Adam::load_state_dict");
  const int64_t step = find_state(state, "step").to_i64("step");
  for (auto& [name, tensor] : expected) load_into(find_state(state, name), *tensor, name);
  write_counter(const_cast<Tensor&>(adam.step_count()), step, "step");
}

}  // namespace vkgrad::nn
