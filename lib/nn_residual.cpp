// nn::Residual of include/vkgrad/nn/module.hpp: y = x + fn(x), built from vkgrad/elementwise.hpp's
// add (forward) and axpy (dx += dy in the backward pass).
#include <algorithm>

#include "checks.hpp"
#include "command_impl.hpp"
#include "nn_state.hpp"
#include "vkgrad/elementwise.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

using state::fail;

Residual::Residual(Context& context, std::unique_ptr<Module> fn) : Module(context), fn_(std::move(fn)) {
  if (!fn_) fail("Residual", "null module: wrap a module such as a Sequential or a Linear");
  fn_->set_training(training());
}

std::string Residual::extra_repr() const { return "fn=" + fn_->to_string(); }

uint64_t Residual::output_features(uint64_t in_features) const {
  const uint64_t out = fn_->output_features(in_features);
  if (out != in_features) {
    fail("Residual", "fn " + fn_->to_string() + " maps " + std::to_string(in_features) + " features to " +
                         std::to_string(out) + "; y = x + fn(x) needs fn's output width to equal its input width");
  }
  return out;
}

void Residual::forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  const std::string_view op = "Residual::forward";
  for (const auto& [t, role] : {std::pair<const Tensor*, const char*>{&x, "x"}, {&y, "y"}}) {
    cmd.impl().check_tensor(*t, op, role);
    detail::require_f32(*t, op, role);
  }
  if (x.shape().rank() < 1) fail(op, "'x' is empty");
  const uint64_t rows = x.shape()[0], in = x.numel() / rows;
  output_features(in);
  detail::require_same_shape(y, "y", x, "x", op);
  auto it = cache_.find(rows);
  if (it == cache_.end() || it->second.in_features != in || it->second.fx.shape() != x.shape()) {
    if (it != cache_.end()) cache_.erase(it);
    if (cache_.size() >= Sequential::max_cached_batch_sizes) {
      // Lists that recorded the evicted buffer keep it alive; backward() for that batch size throws
      // until a new forward() is recorded.
      cache_.erase(std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      }));
    }
    it = cache_.emplace(rows, Cache{}).first;
    it->second.in_features = in;
    it->second.fx = Tensor(context(), x.shape());
  }
  Cache& c = it->second;
  c.last_use = ++use_clock_;
  fn_->forward(cmd, x, c.fx);
  add(cmd, x, c.fx, y);
  c.forward_recorded = true;
  c.training = training();
}

void Residual::backward(CommandList& cmd, const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor& dx) {
  const std::string_view op = "Residual::backward";
  cmd.impl().check_tensor(x, op, "x");
  if (x.shape().rank() < 1) fail(op, "'x' is empty");
  const uint64_t rows = x.shape()[0], in = x.numel() / rows;
  const auto it = cache_.find(rows);
  const std::string batch = std::to_string(rows) + " rows of " + std::to_string(in) + " features";
  if (it == cache_.end() || it->second.in_features != in || !it->second.forward_recorded) {
    fail(op, "no forward pass was recorded for a batch of " + batch +
                 ": record forward() for this batch size before "
                 "backward()");
  }
  if (it->second.training != training()) {
    fail(op, "the forward pass for a batch of " + batch +
                 " was recorded in another mode (train / eval): record "
                 "forward() again before backward()");
  }
  cmd.impl().check_tensor(dy, op, "dy");
  detail::require_same_shape(dy, "dy", x, "x", op);
  if (!dx.empty()) {
    cmd.impl().check_tensor(dx, op, "dx");
    detail::require_same_shape(dx, "dx", x, "x", op);
  }
  // ∂(x + fn(x))/∂x = dy + fn's input gradient: fn's backward writes dx, then dx += 1·dy.
  fn_->backward(cmd, x, it->second.fx, dy, dx);
  if (!dx.empty()) axpy(cmd, 1.0f, dy, dx);
}

std::vector<Parameter> Residual::parameters() {
  auto all = fn_->parameters();
  for (auto& p : all) p.name = "fn." + p.name;
  return all;
}

std::vector<Buffer> Residual::buffers() {
  auto all = fn_->buffers();
  for (auto& b : all) b.name = "fn." + b.name;
  return all;
}

std::unique_ptr<Module> Residual::replace_fn(std::unique_ptr<Module> fn) {
  if (!fn) fail("Residual::replace_fn", "null module");
  fn->set_training(training());
  std::swap(fn_, fn);
  cache_.clear();
  return fn;
}

void Residual::reset_parameters(CommandList& cmd, uint64_t seed) { fn_->reset_parameters(cmd, seed); }

void Residual::set_training(bool training) {
  Module::set_training(training);
  fn_->set_training(training);
}

void Residual::set_step_counter(const Tensor* counter, uint64_t seed) { fn_->set_step_counter(counter, seed); }

void Residual::release_buffers() {
  cache_.clear();
  if (auto* nested = dynamic_cast<Sequential*>(fn_.get())) nested->release_buffers();
  if (auto* nested = dynamic_cast<Residual*>(fn_.get())) nested->release_buffers();
}

uint64_t Residual::cached_bytes() const {
  uint64_t bytes = 0;
  for (const auto& [rows, c] : cache_) bytes += c.fx.size_bytes();
  if (const auto* nested = dynamic_cast<const Sequential*>(fn_.get())) bytes += nested->cached_bytes();
  if (const auto* nested = dynamic_cast<const Residual*>(fn_.get())) bytes += nested->cached_bytes();
  return bytes;
}

}  // namespace vkgrad::nn
