// Modules and Sequential of include/vkgrad/nn/module.hpp. The losses are in nn_loss.cpp, the
// optimizers in nn_optim.cpp, the Trainer in nn_trainer.cpp and nn_trainer_checks.cpp, the state-dict
// helpers in nn_state.cpp.
#include "vkgrad/nn.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

#include "checks.hpp"
#include "nn_state.hpp"
#include "command_impl.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/init.hpp"
#include "vkgrad/linear.hpp"
#include "vkgrad/reduce.hpp"

namespace vkgrad::nn {

using namespace state;

namespace {

// The mask seed of layer i of a Sequential whose dropout seed is `seed`: the same whether the layer
// was added before or after the seed was set. Complemented so that it differs from the seed the
// layer's parameters are initialised from (mix_seed(seed, i)).
uint64_t dropout_layer_seed(uint64_t seed, uint64_t i) { return mix_seed(~seed, i); }

// The model's own inputs and outputs are checked before anything is recorded: the layers check
// them only when they reach them, after earlier layers were recorded.
void check_model_io(CommandList& cmd, const Tensor& t, std::string_view where, std::string_view role) {
  cmd.impl().check_tensor(t, where, role);
  detail::require_f32(t, where, role);
}

}  // namespace

std::string Module::to_string() const { return type_name() + "(" + extra_repr() + ")"; }

// --- Activation ---

Activation::Activation(Context& context, ActivationSpec spec) : Module(context), spec_(spec) {}

std::string Activation::type_name() const {
  if (spec_.sparse) return "SparseThreshold";
  static const std::map<vkgrad::Activation, const char*> names{
      {vkgrad::Activation::identity, "Identity"},
      {vkgrad::Activation::sigmoid, "Sigmoid"},
      {vkgrad::Activation::tanh, "Tanh"},
      {vkgrad::Activation::relu, "ReLU"},
      {vkgrad::Activation::relu6, "ReLU6"},
      {vkgrad::Activation::leaky_relu, "LeakyReLU"},
      {vkgrad::Activation::elu, "ELU"},
      {vkgrad::Activation::selu, "SELU"},
      {vkgrad::Activation::celu, "CELU"},
      {vkgrad::Activation::gelu, "GELU"},
      {vkgrad::Activation::gelu_tanh, "GELU"},
      {vkgrad::Activation::silu, "SiLU"},
      {vkgrad::Activation::mish, "Mish"},
      {vkgrad::Activation::softplus, "Softplus"},
      {vkgrad::Activation::softsign, "Softsign"},
      {vkgrad::Activation::hardtanh, "Hardtanh"},
      {vkgrad::Activation::hardsigmoid, "Hardsigmoid"},
      {vkgrad::Activation::hardswish, "Hardswish"},
      {vkgrad::Activation::logsigmoid, "LogSigmoid"},
      {vkgrad::Activation::tanhshrink, "Tanhshrink"},
      {vkgrad::Activation::softshrink, "Softshrink"},
      {vkgrad::Activation::hardshrink, "Hardshrink"},
      {vkgrad::Activation::threshold, "Threshold"},
      {vkgrad::Activation::prelu, "PReLU"},
  };
  auto it = names.find(spec_.kind);
  return it == names.end() ? activation_info(spec_.kind).name : it->second;
}

std::string Activation::extra_repr() const {
  if (spec_.sparse) return spec_.to_string();
  if (spec_.kind == vkgrad::Activation::gelu_tanh) return "approximate='tanh'";
  const auto& info = activation_info(spec_.kind);
  std::string s;
  for (uint32_t i = 0; i < info.param_count; ++i) {
    s += (i ? ", " : "") + std::string(info.param_names[i]) + "=" + fmt(spec_.params[i]);
  }
  return s;
}

void Activation::forward(CommandList& cmd, const Tensor& x, Tensor& y) { activation_forward(cmd, spec_, x, y); }

void Activation::backward(CommandList& cmd, const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor& dx) {
  if (!dx.empty()) activation_backward(cmd, spec_, x, dy, dx);
}

// --- BatchNorm1d ---

BatchNorm1d::BatchNorm1d(Context& context, uint64_t num_features, BatchNormOptions options)
    : Module(context), features_(num_features), options_(options) {
  if (num_features == 0) fail("BatchNorm1d", "num_features must be >= 1");
  for (Tensor* t : {&running_mean_, &running_var_, &save_mean_, &save_invstd_}) *t = Tensor(context, {features_});
  if (options_.affine) {
    for (Tensor* t : {&weight_, &bias_, &weight_grad_, &bias_grad_}) *t = Tensor(context, {features_});
  }
  CommandList cmd(context);
  reset_parameters(cmd, 0);
  cmd.run();
}

std::string BatchNorm1d::extra_repr() const {
  return std::to_string(features_) + ", eps=" + fmt(options_.eps) + ", momentum=" + fmt(options_.momentum) +
         ", affine=" + (options_.affine ? "True" : "False") + ", track_running_stats=True";
}

uint64_t BatchNorm1d::output_features(uint64_t in_features) const {
  if (in_features != features_) {
    fail("BatchNorm1d", "expects " + std::to_string(features_) + " features, got " + std::to_string(in_features));
  }
  return features_;
}

void BatchNorm1d::forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  output_features(features_of(x, "BatchNorm1d", "x"));
  batchnorm_forward(cmd, x, weight_, bias_, running_mean_, running_var_, save_mean_, save_invstd_, y,
                    BatchNormOptions(options_).set_training(training()));
}

void BatchNorm1d::backward(CommandList& cmd, const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor& dx) {
  if (!training()) {
    fail("BatchNorm1d", "backward needs a training-mode forward pass (the batch statistics); call train() first");
  }
  if (dx.empty()) {  // first layer: the input gradient is not wanted, but batchnorm_backward writes one
    Tensor scratch(context(), x.shape());
    batchnorm_backward(cmd, x, dy, save_mean_, save_invstd_, weight_, scratch, weight_grad_, bias_grad_, options_);
    return;  // the command list keeps the scratch tensor alive
  }
  batchnorm_backward(cmd, x, dy, save_mean_, save_invstd_, weight_, dx, weight_grad_, bias_grad_, options_);
}

std::vector<Parameter> BatchNorm1d::parameters() {
  if (!options_.affine) return {};
  return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
}

std::vector<Buffer> BatchNorm1d::buffers() {
  return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
}

void BatchNorm1d::reset_parameters(CommandList& cmd, uint64_t /*seed*/) {
  if (options_.affine) {
    init_ones(cmd, weight_);
    init_zeros(cmd, bias_);
  }
  init_zeros(cmd, running_mean_);
  init_ones(cmd, running_var_);
}

// --- Dropout ---

Dropout::Dropout(Context& context, float p) : Module(context), p_(p) {
  if (!(p >= 0.0f && p <= 1.0f)) fail("Dropout", "p must be in [0, 1], got " + fmt(p));
}

std::string Dropout::extra_repr() const { return "p=" + fmt(p_) + ", inplace=False"; }

// x: (rows, features...): element i of this replica's rows is element first_row · features + i of
// the global batch.
DropoutOptions Dropout::options(const Tensor& x) const {
  const uint64_t rows = x.shape().rank() > 0 ? x.shape()[0] : 1;
  const uint64_t offset = rows > 0 ? first_row_ * (x.numel() / rows) : 0;
  return DropoutOptions{}
      .set_p(p_)
      .set_training(training())
      .set_seed(seed_)
      .set_step_counter(counter_)
      .set_element_offset(offset);
}

void Dropout::forward(CommandList& cmd, const Tensor& x, Tensor& y) { dropout_forward(cmd, x, y, options(x)); }

void Dropout::backward(CommandList& cmd, const Tensor& /*x*/, const Tensor& /*y*/, const Tensor& dy, Tensor& dx) {
  if (!dx.empty()) dropout_backward(cmd, dy, dx, options(dy));
}

void Dropout::set_step_counter(const Tensor* counter, uint64_t seed) {
  counter_ = counter;
  seed_ = seed;
}

// --- LogSoftmax ---

void LogSoftmax::forward(CommandList& cmd, const Tensor& x, Tensor& y) { log_softmax_forward(cmd, x, y); }

void LogSoftmax::backward(CommandList& cmd, const Tensor& /*x*/, const Tensor& y, const Tensor& dy, Tensor& dx) {
  if (!dx.empty()) log_softmax_backward(cmd, y, dy, dx);
}

// --- Sequential ---

Sequential::Sequential(Context& context) : Module(context), step_(make_step_counter(context)) {}

void Sequential::add(std::unique_ptr<Module> module) {
  if (!module) fail("Sequential::add", "null module");
  module->set_training(training());
  module->set_step_counter(&step_, dropout_layer_seed(dropout_seed_, modules_.size()));
  modules_.push_back(std::move(module));
  activations_.clear();
}

std::unique_ptr<Module> Sequential::replace(std::size_t i, std::unique_ptr<Module> module) {
  if (!module) fail("Sequential::replace", "null module");
  auto& slot = modules_.at(i);
  module->set_training(training());
  module->set_step_counter(&step_, dropout_layer_seed(dropout_seed_, i));
  std::swap(slot, module);
  activations_.clear();
  return module;
}

uint64_t Sequential::output_features(uint64_t in_features) const {
  uint64_t f = in_features;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    try {
      f = modules_[i]->output_features(f);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string(e.what()) + " (layer " + std::to_string(i) + ": " + modules_[i]->to_string() +
                            ")");
    }
  }
  return f;
}

Sequential::Activations& Sequential::activations_for(uint64_t rows, uint64_t in_features) {
  auto it = activations_.find(rows);
  if (it != activations_.end() && it->second.in_features == in_features &&
      it->second.outputs.size() + 1 == modules_.size()) {
    it->second.last_use = ++use_clock_;
    return it->second;
  }
  if (it != activations_.end()) activations_.erase(it);
  if (activations_.size() >= max_cached_batch_sizes) {
    // Lists that recorded the evicted buffers keep them alive; backward() for that batch size
    // throws until a new forward() is recorded.
    auto oldest = activations_.begin();
    for (auto i = activations_.begin(); i != activations_.end(); ++i) {
      if (i->second.last_use < oldest->second.last_use) oldest = i;
    }
    activations_.erase(oldest);
  }
  Activations a;
  a.in_features = in_features;
  a.last_use = ++use_clock_;
  uint64_t f = in_features;
  for (std::size_t i = 0; i + 1 < modules_.size(); ++i) {
    f = modules_[i]->output_features(f);
    a.outputs.emplace_back(context(), Shape{rows, f});
  }
  return activations_[rows] = std::move(a);
}

void Sequential::forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  if (modules_.empty()) fail("Sequential", "the model has no layers");
  const std::string_view op = "Sequential::forward";
  check_model_io(cmd, x, op, "x");
  check_model_io(cmd, y, op, "y");
  const uint64_t in = features_of(x, op, "x");
  const uint64_t rows = x.shape()[0];
  const uint64_t out = output_features(in);
  if (y.numel() != rows * out) {
    fail(op, "'y' " + y.shape().to_string() + " must hold " + std::to_string(rows) + " rows of " + std::to_string(out) +
                 " features");
  }
  Activations& a = activations_for(rows, in);
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    const Tensor& in_t = i == 0 ? x : a.outputs[i - 1];
    Tensor& out_t = i + 1 == modules_.size() ? y : a.outputs[i];
    modules_[i]->forward(cmd, in_t, out_t);
  }
  a.forward_recorded = true;
  a.training = training();
}

void Sequential::backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) {
  if (modules_.empty()) fail("Sequential", "the model has no layers");
  const std::string_view op = "Sequential::backward";
  check_model_io(cmd, x, op, "x");
  check_model_io(cmd, y, op, "y");
  check_model_io(cmd, dy, op, "dy");
  if (!dx.empty()) check_model_io(cmd, dx, op, "dx");
  const uint64_t in = features_of(x, op, "x");
  const uint64_t rows = x.shape()[0];
  const uint64_t out = output_features(in);
  for (const auto& [t, role, count] : {std::tuple<const Tensor*, const char*, uint64_t>{&y, "y", rows * out},
                                       {&dy, "dy", rows * out},
                                       {&dx, "dx", x.numel()}}) {
    if (!t->empty() && t->numel() != count) {
      fail(op, "'" + std::string(role) + "' " + t->shape().to_string() + " must have " + std::to_string(count) +
                   " elements");
    }
  }
  // The layers' backward passes read what forward() left: the intermediate outputs, BatchNorm's
  // batch statistics, Dropout's mode. Without it they would differentiate unwritten buffers.
  const auto it = activations_.find(rows);
  const std::string batch = std::to_string(rows) + " rows of " + std::to_string(in) + " features";
  if (it == activations_.end() || it->second.in_features != in || !it->second.forward_recorded) {
    fail(op, "no forward pass was recorded for a batch of " + batch +
                 " (since the model was built or last changed): record forward() for this batch size before "
                 "backward()");
  }
  Activations& a = it->second;
  if (a.training != training()) {
    const auto mode = [](bool t) { return t ? "training mode" : "eval mode"; };
    fail(op, "the forward pass for a batch of " + batch + " was recorded in " + mode(a.training) + ", backward() in " +
                 mode(training()) + ": record forward() again in " + mode(training()) + " before backward()");
  }
  if (a.gradients.empty()) {
    for (const Tensor& o : a.outputs) a.gradients.emplace_back(context(), o.shape());
  }
  for (std::size_t i = modules_.size(); i-- > 0;) {
    const Tensor& in_t = i == 0 ? x : a.outputs[i - 1];
    const Tensor& out_t = i + 1 == modules_.size() ? y : a.outputs[i];
    const Tensor& grad_out = i + 1 == modules_.size() ? dy : a.gradients[i];
    Tensor& grad_in = i == 0 ? dx : a.gradients[i - 1];
    modules_[i]->backward(cmd, in_t, out_t, grad_out, grad_in);
  }
}

namespace {

// `storage` if it holds rows · width elements, else a new 1-D tensor for the next power of two of
// the rows (less than twice as many), so a sweep over growing batches reallocates a few times only;
// for exactly `rows` rows where the rounded size does not fit the device.
Tensor& grown(Context& context, Tensor& storage, uint64_t rows, uint64_t width, DType dtype) {
  if (storage.empty() || storage.numel() < rows * width) {
    storage = Tensor();  // freed before the larger one is allocated
    try {
      storage = Tensor(context, Shape{std::bit_ceil(rows) * width}, dtype);
    } catch (const UnsupportedError&) {
      storage = Tensor(context, Shape{rows * width}, dtype);
    } catch (const OutOfMemoryError&) {
      storage = Tensor(context, Shape{rows * width}, dtype);
    }
  }
  return storage;
}

}  // namespace

void Sequential::predict(CommandList& cmd, const Tensor& x, Tensor& y, Prediction output) {
  if (modules_.empty()) fail("Sequential", "the model has no layers");
  const std::string_view op = "Sequential::predict";
  check_model_io(cmd, x, op, "x");
  cmd.impl().check_tensor(y, op, "y");
  const uint64_t in = features_of(x, op, "x");
  const uint64_t rows = x.shape()[0];
  const uint64_t out = output_features(in);
  if (output == Prediction::classes) {
    if (y.dtype() != DType::i32 || y.numel() != rows) {
      fail(op, "'y' " + y.shape().to_string() + " " + vkgrad::to_string(y.dtype()) +
                   " must be i32 with one class index per row (" + std::to_string(rows) + ")");
    }
  } else if (y.dtype() != DType::f32 || y.numel() != rows * out) {
    fail(op, "'y' " + y.shape().to_string() + " " + vkgrad::to_string(y.dtype()) + " must be f32 holding " +
                 std::to_string(rows) + " rows of " + std::to_string(out) + " features");
  }
  // Widest layer output that goes to the predict buffers: every one but the last, which is y
  // itself for logits and a buffer that softmax / argmax read otherwise.
  uint64_t width = 0, f = in;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    f = modules_[i]->output_features(f);
    if (i + 1 < modules_.size() || output != Prediction::logits) width = std::max(width, f);
  }
  const Tensor* layer_in = &x;
  Tensor views[2];
  f = in;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    f = modules_[i]->output_features(f);
    Tensor* layer_out = &y;
    if (i + 1 < modules_.size() || output != Prediction::logits) {
      views[i % 2] = grown(context(), predict_.hidden[i % 2], rows, width, DType::f32).prefix_view(Shape{rows, f});
      layer_out = &views[i % 2];
    }
    if (auto* nested = dynamic_cast<Sequential*>(modules_[i].get())) {
      nested->predict(cmd, *layer_in, *layer_out);
    } else {
      state::ModeWhileRecording eval(*modules_[i], false);
      modules_[i]->forward(cmd, *layer_in, *layer_out);
    }
    layer_in = layer_out;
  }
  if (output == Prediction::probabilities) softmax_forward(cmd, *layer_in, y);
  if (output == Prediction::classes) argmax_rows(cmd, *layer_in, y);
}

void Sequential::predict_chunks(std::span<const float> x, uint64_t rows, Prediction output, uint64_t max_batch,
                                std::span<float> values, std::span<int32_t> classes) {
  const std::string_view op = output == Prediction::classes ? "Sequential::predict_classes" : "Sequential::predict";
  if (rows == 0 || max_batch == 0) fail(op, "rows and max_batch must be >= 1");
  if (x.size() % rows != 0 || x.empty()) {
    fail(op, "x holds " + std::to_string(x.size()) + " values, not a whole number of " + std::to_string(rows) +
                 " rows of at least one feature");
  }
  const uint64_t in = x.size() / rows;
  const uint64_t out = output_features(in);
  const uint64_t chunk_rows = std::min(rows, max_batch);
  Tensor& input = grown(context(), predict_.input, chunk_rows, in, DType::f32);
  Tensor& result = output == Prediction::classes ? grown(context(), predict_.classes, chunk_rows, 1, DType::i32)
                                                 : grown(context(), predict_.output, chunk_rows, out, DType::f32);
  // Whole chunks replay one list, recorded for the first; a shorter last chunk gets its own.
  CommandList whole(context());
  bool whole_recorded = false;
  for (uint64_t start = 0; start < rows; start += chunk_rows) {
    const uint64_t n = std::min(chunk_rows, rows - start);
    Tensor x_chunk = input.prefix_view(Shape{n, in});
    x_chunk.upload(x.subspan(start * in, n * in));
    Tensor y_chunk = result.prefix_view(output == Prediction::classes ? Shape{n} : Shape{n, out});
    if (n == chunk_rows) {
      if (!whole_recorded) predict(whole, x_chunk, y_chunk, output);
      whole_recorded = true;
      whole.run();
    } else {
      CommandList last(context());
      predict(last, x_chunk, y_chunk, output);
      last.run();
    }
    if (output == Prediction::classes) {
      y_chunk.download(classes.subspan(start, n));
    } else {
      y_chunk.download(values.subspan(start * out, n * out));
    }
  }
}

std::vector<float> Sequential::predict(std::span<const float> x, uint64_t rows, Prediction output, uint64_t max_batch) {
  if (output == Prediction::classes) {
    fail("Sequential::predict", "the host predict returns f32 logits or probabilities: use predict_classes");
  }
  if (modules_.empty()) fail("Sequential", "the model has no layers");
  const uint64_t out = rows == 0 || x.size() % rows != 0 ? 0 : output_features(x.size() / rows);
  std::vector<float> values(rows * out);
  predict_chunks(x, rows, output, max_batch, values, {});
  return values;
}

std::vector<int32_t> Sequential::predict_classes(std::span<const float> x, uint64_t rows, uint64_t max_batch) {
  if (modules_.empty()) fail("Sequential", "the model has no layers");
  std::vector<int32_t> classes(rows);
  predict_chunks(x, rows, Prediction::classes, max_batch, {}, classes);
  return classes;
}

void Sequential::release_buffers() {
  activations_.clear();
  predict_ = PredictBuffers();
  for (auto& m : modules_) {
    if (auto* nested = dynamic_cast<Sequential*>(m.get())) nested->release_buffers();
    if (auto* residual = dynamic_cast<Residual*>(m.get())) residual->release_buffers();
  }
}

uint64_t Sequential::cached_bytes() const {
  uint64_t bytes = 0;
  for (const auto& [rows, a] : activations_) {
    for (const auto& t : a.outputs) bytes += t.size_bytes();
    for (const auto& t : a.gradients) bytes += t.size_bytes();
  }
  for (const Tensor* t :
       {&predict_.hidden[0], &predict_.hidden[1], &predict_.input, &predict_.output, &predict_.classes}) {
    bytes += t->size_bytes();
  }
  for (const auto& m : modules_) {
    if (const auto* nested = dynamic_cast<const Sequential*>(m.get())) bytes += nested->cached_bytes();
    if (const auto* residual = dynamic_cast<const Residual*>(m.get())) bytes += residual->cached_bytes();
  }
  return bytes;
}

std::vector<Parameter> Sequential::parameters() {
  std::vector<Parameter> all;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    for (auto p : modules_[i]->parameters()) {
      p.name = std::to_string(i) + "." + p.name;
      all.push_back(std::move(p));
    }
  }
  return all;
}

std::vector<Buffer> Sequential::buffers() {
  std::vector<Buffer> all;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    for (auto b : modules_[i]->buffers()) {
      b.name = std::to_string(i) + "." + b.name;
      all.push_back(std::move(b));
    }
  }
  return all;
}

void Sequential::reset_parameters(CommandList& cmd, uint64_t seed) {
  for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->reset_parameters(cmd, mix_seed(seed, i));
  set_dropout_seed(seed);
}

void Sequential::set_dropout_seed(uint64_t seed) {
  dropout_seed_ = seed;
  for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->set_step_counter(&step_, dropout_layer_seed(seed, i));
}

void Sequential::set_training(bool training) {
  Module::set_training(training);
  for (auto& m : modules_) m->set_training(training);
}

void Sequential::set_step_counter(const Tensor* counter, uint64_t seed) {
  for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->set_step_counter(counter, mix_seed(seed, i));
}

const Tensor& Sequential::activation(uint64_t rows, std::size_t layer) const {
  auto it = activations_.find(rows);
  if (it == activations_.end() || layer >= it->second.outputs.size()) {
    fail("Sequential::activation", "no recorded output of layer " + std::to_string(layer) + " for " +
                                       std::to_string(rows) + " rows (the last layer's output is the caller's y)");
  }
  return it->second.outputs[layer];
}

uint64_t Sequential::parameter_count() {
  uint64_t n = 0;
  for (const auto& p : parameters()) n += p.value->numel();
  return n;
}

std::string Sequential::summary(uint64_t in_features) const {
  auto& self = const_cast<Sequential&>(*this);  // parameters() hands out mutable pointers; only sizes are read
  std::ostringstream s;
  s << "Sequential(\n";
  for (std::size_t i = 0; i < modules_.size(); ++i) s << "  (" << i << "): " << modules_[i]->to_string() << "\n";
  s << ")\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-6s %-28s %-16s %12s\n", "layer", "module", "output shape", "parameters");
  s << line;
  uint64_t f = in_features, total = 0;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    f = modules_[i]->output_features(f);
    uint64_t n = 0;
    for (const auto& p : self.modules_[i]->parameters()) n += p.value->numel();
    total += n;
    const std::string shape = "[N, " + std::to_string(f) + "]";
    std::snprintf(line, sizeof line, "%-6zu %-28s %-16s %12llu\n", i, modules_[i]->type_name().c_str(), shape.c_str(),
                  static_cast<unsigned long long>(n));
    s << line;
  }
  s << "total parameters: " << total << "\n";
  return s.str();
}

std::vector<std::pair<std::string, HostTensor>> Sequential::state_dict() {
  StateDict state;
  // PyTorch's order: per module, parameters then buffers.
  const int64_t steps = read_counter(step_);
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    for (const auto& p : modules_[i]->parameters()) state.emplace_back(prefix + p.name, to_host(*p.value));
    for (const auto& b : modules_[i]->buffers()) state.emplace_back(prefix + b.name, to_host(*b.value));
    if (dynamic_cast<BatchNorm1d*>(modules_[i].get()))
      state.emplace_back(prefix + "num_batches_tracked", HostTensor::scalar_i64(steps));
  }
  return state;
}

void Sequential::load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) {
  std::vector<std::pair<std::string, Tensor*>> expected;
  std::set<std::string> counters;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    for (const auto& p : modules_[i]->parameters()) expected.emplace_back(prefix + p.name, p.value);
    for (const auto& b : modules_[i]->buffers()) expected.emplace_back(prefix + b.name, b.value);
    if (dynamic_cast<BatchNorm1d*>(modules_[i].get())) counters.insert(prefix + "num_batches_tracked");
  }
  validate_state(state, expected, counters, "Sequential::load_state_dict");
  for (const auto& name : counters) find_state(state, name).to_i64(name);  // validate before changing anything
  // The compressed weights are snapshots of the weights replaced now.
  drop_compressed_weights(*this);
  for (auto& [name, tensor] : expected) load_into(find_state(state, name), *tensor, name);
  if (!counters.empty()) {
    const std::string& name = *counters.begin();
    write_counter(step_, find_state(state, name).to_i64(name), name);
  }
}

}  // namespace vkgrad::nn
