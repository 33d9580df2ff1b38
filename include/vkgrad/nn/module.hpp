/// \file
/// Modules and Sequential: Module, Linear, Activation, BatchNorm1d, Dropout, LogSoftmax, Residual,
/// Sequential (forward, backward, predict, state_dict). Included by vkgrad/nn.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vkgrad/activation.hpp"
#include "vkgrad/batchnorm.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/dropout.hpp"
#include "vkgrad/nn/replica.hpp"
#include "vkgrad/safetensors.hpp"
#include "vkgrad/sparse.hpp"
#include "vkgrad/sparsity.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn {

/// A learnable tensor and its gradient, both owned by a module. `name` is the state_dict key
/// relative to the module ("weight"); Sequential prefixes the layer index ("0.weight").
struct Parameter {
  /// The state_dict key ("weight", "0.weight").
  std::string name;
  /// The parameter tensor, owned by the module.
  Tensor* value;
  /// Its gradient (same shape), owned by the module and OVERWRITTEN by its backward().
  Tensor* grad;
  /// Pruning: the parameter's mask (f32, its shape, 1 = kept, 0 = pruned), owned by the module, or
  /// null when the parameter cannot be masked. The tensor is EMPTY while no mask is set; it is read
  /// when a step is recorded (see Linear::set_weight_mask).
  const Tensor* mask = nullptr;
};

/// A non-learnable state tensor saved in checkpoints (BatchNorm's running statistics).
struct Buffer {
  /// The state_dict key ("running_mean", "1.running_mean").
  std::string name;
  /// The tensor, owned by the module.
  Tensor* value;
};

/// Base class of every layer. A module maps (rows, in_features) to (rows, out_features).
///
/// forward() records the pass; backward() records the gradients given the same x and y of the
/// forward pass it belongs to. Parameter gradients are OVERWRITTEN by backward() (not accumulated),
/// so no zero_grad is needed. Modules are not copyable (they own device tensors).
class Module {
 public:
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// "Linear"
  virtual std::string type_name() const = 0;
  /// PyTorch's extra_repr: "in_features=784, out_features=512, bias=True"
  virtual std::string extra_repr() const { return {}; }
  /// "Linear(in_features=784, out_features=512, bias=True)"
  std::string to_string() const;

  /// Output features for `in_features` inputs per row; throws InvalidArgument when this module
  /// cannot take that many (a Linear built for another size).
  virtual uint64_t output_features(uint64_t in_features) const = 0;

  /// Records y = module(x). x: (rows, in_features), y: (rows, output_features(in_features)).
  virtual void forward(CommandList& cmd, const Tensor& x, Tensor& y) = 0;
  /// Records the backward pass: dx = ∂loss/∂x (skipped when dx is empty) and the parameter
  /// gradients (OVERWRITTEN), from the x and y of the forward pass and dy = ∂loss/∂y.
  virtual void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) = 0;

  /// The learnable tensors with their gradients, by state_dict name; none by default. The pointers
  /// stay valid as long as the module.
  virtual std::vector<Parameter> parameters() { return {}; }
  /// The non-learnable state tensors saved in checkpoints; none by default.
  virtual std::vector<Buffer> buffers() { return {}; }

  /// Records PyTorch's default initialisation of the parameters (and resets buffers) from `seed`.
  virtual void reset_parameters(CommandList& /*cmd*/, uint64_t /*seed*/) {}

  /// Train / eval mode, read when a pass is recorded.
  virtual void set_training(bool training) { training_ = training; }
  /// Whether the module is in training mode (the default) rather than eval mode.
  bool training() const { return training_; }

  /// Sets the i32 [1] counter that stochastic modules (Dropout) read their step from on the device,
  /// so a replayed list draws a fresh mask each step, and the seed of their random stream. Called
  /// by Sequential; the counter may be null. The base class ignores it.
  virtual void set_step_counter(const Tensor* /*counter*/, uint64_t /*seed*/) {}

  /// Data-parallel training: the replicas and where this replica's rows sit in the global batch,
  /// for the passes recorded from now on (the Trainer calls it before recording a step; Sequential
  /// and Residual pass it to their layers). Modules whose result depends on other rows or on the
  /// row's index read it (Dropout keys its masks on the global row, SyncBatchNorm reduces its
  /// statistics over the group). The base class ignores it.
  virtual void set_replica_rows(const ReplicaRows& /*rows*/) {}

  /// The context the module's tensors live on.
  Context& context() const { return *context_; }

 protected:
  /// For derived classes: their tensors are created on `context`. A module starts in training mode.
  explicit Module(Context& context) : context_(&context) {}

 private:
  Context* context_;
  bool training_ = true;
};

/// nn.Linear: y = x·Wᵀ + b. W (out × in), b (out). Default init as PyTorch: kaiming_uniform(a = √5)
/// on W, i.e. U(−1/√in, 1/√in), and U(−1/√in, 1/√in) on b.
class Linear : public Module {
 public:
  /// An in_features → out_features layer (both >= 1, else InvalidArgument), with a bias unless
  /// `bias` is false. Initialised at once (synchronously) as reset_parameters with seed 0.
  Linear(Context& context, uint64_t in_features, uint64_t out_features, bool bias = true);
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  uint64_t output_features(uint64_t in_features) const override;
  /// Records y = x·Wᵀ + b (linear_forward); x (rows, in_features), else InvalidArgument. In eval
  /// mode with a compressed weight (compress_weight()), records sparse_linear_forward over it
  /// instead when sparse_is_faster(context, rows, in_features, out_features, its density); in
  /// training mode always the dense product, and drops the compressed weight first.
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records linear_backward: dx (skipped when empty), weight_grad() and bias_grad(), all
  /// OVERWRITTEN; with a weight mask set, then mask_apply on weight_grad() (0 where pruned).
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  /// "weight", and "bias" unless built without one.
  std::vector<Parameter> parameters() override;
  /// Records W, b ~ U(−1/√in_features, 1/√in_features), from seeds derived from `seed`; with a
  /// weight mask set, then mask_apply on W.
  void reset_parameters(CommandList& cmd, uint64_t seed) override;

  /// W: f32 (out_features, in_features).
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }  ///< empty without bias
  /// ∂loss/∂W, W's shape, written by backward().
  Tensor& weight_grad() { return weight_grad_; }
  /// ∂loss/∂b (out_features), written by backward(); empty without bias.
  Tensor& bias_grad() { return bias_grad_; }

  /// Pruning: sets the weight mask to `mask` (out_features · in_features values, row-major as W,
  /// each exactly 1 = kept or 0 = pruned; else InvalidArgument, nothing changed) and sets the
  /// pruned weights to +0 at once. Synchronous (waits for the work submitted before, then writes
  /// the mask and W on the device).
  ///
  /// While a mask is set, a pruned weight stays exactly 0: steps recorded with the mask zero the
  /// weight gradient where the mask is 0 (after backward) and the optimizers zero the weight and
  /// its state (momentum buffer, exp_avg, exp_avg_sq) there after each update. The mask lives in
  /// one device tensor (weight_mask()), read when the step runs: later calls only rewrite its
  /// values, so lists recorded after the first call stay valid. Lists recorded while the layer had
  /// no mask do not mask: record them again after the first call (the Trainer does).
  /// reset_parameters() applies a set mask after initialising; Sequential::load_state_dict leaves
  /// the weights as loaded (a checkpoint of a masked model holds exact zeros there anyway).
  void set_weight_mask(std::span<const float> mask);
  /// Removes the mask: weights pruned so far stay 0 until training changes them. Lists recorded
  /// with the mask keep masking (they hold its tensor): record them again (the Trainer does).
  void remove_weight_mask();
  /// Whether a weight mask is set.
  bool has_weight_mask() const { return !weight_mask_.empty(); }
  /// The mask (f32, W's shape, 1 = kept, 0 = pruned); empty while none is set.
  const Tensor& weight_mask() const { return weight_mask_; }
  /// A host copy of the mask, row-major; all ones while none is set. Synchronous.
  std::vector<float> weight_mask_values() const;

  /// Sparse inference (vkgrad/nn/sparse.hpp): builds compressed() from the current W
  /// (SparseMatrix::from_dense, synchronous: waits for the work submitted before). A SNAPSHOT: it
  /// is dropped when W may change through the nn API (a training-mode forward() of this layer,
  /// set_weight_mask, reset_parameters, Sequential::load_state_dict, Trainer::train_epoch), but
  /// not when W is written otherwise (weight().upload(), an optimizer step or a training list
  /// recorded before and replayed): compress again after that. A list recorded in eval mode while
  /// compressed keeps multiplying by the snapshot it was recorded with.
  void compress_weight(SparseFormat format = SparseFormat::csr);
  /// Whether an eval-mode forward() of `rows` rows records the sparse product: a compressed weight
  /// exists and sparse_is_faster(context, rows, in_features, out_features, its density).
  bool sparse_at(uint64_t rows) const;
  /// The compressed weight, or null when there is none.
  const SparseMatrix* compressed() const { return compressed_.empty() ? nullptr : &compressed_; }
  /// Frees the compressed weight (nothing when there is none); forward() is dense from then on.
  void drop_compressed_weight() { compressed_ = SparseMatrix(); }

 private:
  uint64_t in_, out_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  Tensor weight_mask_;       // empty while no mask is set
  SparseMatrix compressed_;  // empty unless compress_weight() built it from the current W
};

/// Any activation of the table (ReLU, GELU, ..., the sparse threshold wrapper), elementwise.
class Activation : public Module {
 public:
  /// A layer applying `spec` (a vkgrad::Activation converts to one with PyTorch's defaults).
  /// forward() records activation_forward; backward() activation_backward from x, nothing when dx
  /// is empty. The prelu row is a fixed slope here, not a learnable one.
  Activation(Context& context, ActivationSpec spec);
  std::string type_name() const override;  ///< PyTorch's class name where one exists ("ReLU")
  std::string extra_repr() const override;
  uint64_t output_features(uint64_t in_features) const override { return in_features; }
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  /// The activation and its parameters.
  const ActivationSpec& spec() const { return spec_; }

 private:
  ActivationSpec spec_;
};

/// nn.BatchNorm1d(num_features, eps, momentum, affine) on (rows, features). State dict: weight,
/// bias, running_mean, running_var (and num_batches_tracked, added by Sequential::state_dict).
class BatchNorm1d : public Module {
 public:
  /// num_features >= 1 (else InvalidArgument). options.training is ignored: the module's mode
  /// decides. Initialised at once: weight 1, bias 0, running_mean 0, running_var 1.
  BatchNorm1d(Context& context, uint64_t num_features, BatchNormOptions options = {});
  std::string type_name() const override { return "BatchNorm1d"; }
  std::string extra_repr() const override;
  uint64_t output_features(uint64_t in_features) const override;
  /// Records batchnorm_forward in the module's mode (training: batch statistics, running ones
  /// updated; eval: running statistics).
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records batchnorm_backward (dx, weight and bias gradients OVERWRITTEN). Throws
  /// InvalidArgument in eval mode, which has no batch statistics to differentiate.
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  /// "weight" (gamma) and "bias" (beta); none without affine.
  std::vector<Parameter> parameters() override;
  /// "running_mean" and "running_var".
  std::vector<Buffer> buffers() override;
  /// Records weight = 1, bias = 0, running_mean = 0, running_var = 1 (`seed` is unused).
  void reset_parameters(CommandList& cmd, uint64_t seed) override;
  /// The num_features it was built with.
  uint64_t num_features() const { return features_; }
  /// The options it was built with (options().training is not the module's mode: training() is).
  const BatchNormOptions& options() const { return options_; }

 protected:  // SyncBatchNorm normalises the same tensors
  uint64_t features_;
  BatchNormOptions options_;
  Tensor weight_, bias_, weight_grad_, bias_grad_, running_mean_, running_var_, save_mean_, save_invstd_;
};

/// nn.Dropout(p). In training mode the mask is drawn from (seed, step counter, element): each
/// replay of a recorded step uses the counter's current value, so every step gets a new mask.
/// Without a counter (a Dropout outside a Sequential) every pass uses step 0: the same mask.
class Dropout : public Module {
 public:
  /// Drops elements with probability p, in [0, 1] (else InvalidArgument).
  Dropout(Context& context, float p = 0.5f);
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  uint64_t output_features(uint64_t in_features) const override { return in_features; }
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  /// Draws its masks from `seed` and the device counter `counter` (may be null: step 0).
  void set_step_counter(const Tensor* counter, uint64_t seed) override;
  /// Keys the masks of the passes recorded from now on on the global row (rows.first_row + row).
  void set_replica_rows(const ReplicaRows& rows) override { first_row_ = rows.first_row; }
  /// The drop probability.
  float p() const { return p_; }

 private:
  DropoutOptions options(const Tensor& x) const;
  float p_;
  const Tensor* counter_ = nullptr;
  uint64_t seed_ = 0;
  uint64_t first_row_ = 0;
};

/// nn.LogSoftmax(dim=1): y = log_softmax(x) along each row (log_softmax_forward), the input NLLLoss
/// expects. No parameters.
class LogSoftmax : public Module {
 public:
  /// A LogSoftmax over the features of each row.
  explicit LogSoftmax(Context& context) : Module(context) {}
  std::string type_name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=1"; }
  uint64_t output_features(uint64_t in_features) const override { return in_features; }
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records log_softmax_backward from y (nothing when dx is empty).
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
};

/// A residual (skip) connection y = x + fn(x) around a module `fn` (a Sequential, a Linear, ...)
/// whose output width equals its input width. Its forward records fn's forward into a buffer of
/// this batch size and adds x (vkgrad/elementwise.hpp's add); its backward routes dy to both
/// paths: fn's backward (parameter gradients, and dx), then dx += dy. The fn(x) buffers are cached
/// per batch size (rows), at most Sequential::max_cached_batch_sizes of them, the least recently
/// recorded evicted first, as Sequential caches its activations. Sequential::predict runs it
/// through forward() in eval mode, so predictions use these buffers too (and a Sequential fn's own
/// activation cache), not only the predict buffers.
///
/// Parameters and buffers are fn's, named "fn." + fn's names: inside a Sequential "0.fn.0.weight",
/// as PyTorch names them for `class Residual(nn.Module)` holding `self.fn`. Like a Sequential
/// nested in another, a BatchNorm1d inside fn has no num_batches_tracked entry. Mode, step counter
/// and reset_parameters pass through to fn.
class Residual : public Module {
 public:
  /// Wraps `fn` (non-null, else InvalidArgument), which takes this module's mode.
  Residual(Context& context, std::unique_ptr<Module> fn);
  std::string type_name() const override { return "Residual"; }
  /// "fn=" and fn's to_string().
  std::string extra_repr() const override;
  /// in_features; InvalidArgument when fn does not map in_features to in_features.
  uint64_t output_features(uint64_t in_features) const override;
  /// Records y = x + fn(x). x (rows, in_features) f32 and y of x's shape.
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records fn's backward with the fn(x) of the last forward() for this batch size, then
  /// dx = dy + (fn's dx) when dx is not empty. Throws InvalidArgument when no forward() was
  /// recorded for this batch size and input width (or it was evicted or released), or in the
  /// other mode.
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  std::vector<Parameter> parameters() override;  ///< fn's, named "fn.<name>"
  std::vector<Buffer> buffers() override;        ///< fn's, named "fn.<name>"
  /// fn's reset_parameters with `seed`.
  void reset_parameters(CommandList& cmd, uint64_t seed) override;
  /// Sets the mode of this module and of fn.
  void set_training(bool training) override;
  /// Points fn at `counter` with `seed`.
  void set_step_counter(const Tensor* counter, uint64_t seed) override;
  /// Passes `rows` to fn.
  void set_replica_rows(const ReplicaRows& rows) override { fn_->set_replica_rows(rows); }
  /// The wrapped module.
  Module& fn() { return *fn_; }
  /// Replaces fn by `fn` (non-null, else InvalidArgument; it takes this module's mode) and returns
  /// the old one. Drops the cached fn(x) buffers: backward() needs a new forward().
  std::unique_ptr<Module> replace_fn(std::unique_ptr<Module> fn);
  /// Frees the cached fn(x) buffers (and those of a Sequential or Residual fn); see
  /// Sequential::release_buffers.
  void release_buffers();
  /// Bytes of device memory in the cached buffers (fn's included).
  uint64_t cached_bytes() const;

 private:
  struct Cache {
    uint64_t in_features = 0;
    bool forward_recorded = false;
    bool training = true;
    uint64_t last_use = 0;
    Tensor fx;  // fn(x) of the last forward() with this batch size
  };
  std::unique_ptr<Module> fn_;
  std::map<uint64_t, Cache> cache_;
  uint64_t use_clock_ = 0;
};

/// Per-layer activation sparsity measured on the device (see vkgrad/sparsity.hpp).
struct LayerSparsity {
  std::size_t layer;   ///< index in the Sequential
  std::string module;  ///< "ReLU()"
  /// Over every evaluated row: zero and near-zero counts, dead = zero in every row.
  SparsityStats stats;
};

/// What Sequential::predict computes per row of its input.
enum class Prediction {
  /// The model's output (rows, classes) f32, as forward() in eval mode.
  logits,
  /// softmax of the logits along each row (rows, classes) f32, as torch.softmax(model(x), -1).
  probabilities,
  /// The index of each row's largest logit (rows) i32, as model(x).argmax(-1): NaN counts as the
  /// maximum, ties give the first index.
  classes,
};

/// nn.Sequential: modules applied in order. Owns its modules, the step counter its Dropout layers
/// read, and two caches of device buffers:
///  - forward() / backward(): the intermediate activations of each batch size (rows) recorded, and
///    their gradients once backward() is recorded for it, for at most max_cached_batch_sizes batch
///    sizes; a forward() with another one evicts the least recently recorded.
///  - predict(): two buffers sized for the largest batch predicted (rounded up to a power of two),
///    whose prefixes hold the activations of smaller batches.
///
/// Command lists keep the buffers they recorded alive (as every tensor they use), so neither
/// eviction nor release_buffers() invalidates a list recorded earlier; that memory returns once
/// those lists are reset or destroyed.
class Sequential : public Module {
 public:
  /// The most batch sizes whose forward() activations (and gradients) are kept at once.
  static constexpr std::size_t max_cached_batch_sizes = 8;
  /// The rows per chunk of the host predict() and predict_classes() unless told otherwise.
  static constexpr uint64_t default_predict_batch = 1024;

  /// An empty model (forward() throws InvalidArgument until a layer is added), with its own step
  /// counter at 0.
  explicit Sequential(Context& context);

  /// Appends a module built from (context, args...) and returns it.
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    auto module = std::make_unique<M>(context(), std::forward<Args>(args)...);
    M& ref = *module;
    add(std::move(module));
    return ref;
  }
  /// Appends `module` (non-null, else InvalidArgument), switching it to this model's mode and
  /// pointing it at this model's step counter. Drops the activations kept for backward().
  void add(std::unique_ptr<Module> module);
  /// Number of layers.
  std::size_t size() const { return modules_.size(); }
  /// Layer i (0 = first); std::out_of_range for i >= size().
  Module& operator[](std::size_t i) { return *modules_.at(i); }
  /// Replaces layer i by `module` (non-null, else InvalidArgument; std::out_of_range for i >=
  /// size()), set up as add() sets up a layer, and returns the old layer. Drops the activations
  /// kept for backward().
  std::unique_ptr<Module> replace(std::size_t i, std::unique_ptr<Module> module);

  std::string type_name() const override { return "Sequential"; }
  /// The last layer's output features for `in_features` inputs; InvalidArgument naming the layer
  /// that cannot take its input.
  uint64_t output_features(uint64_t in_features) const override;
  /// Records the forward pass of every layer, keeping the intermediate activations of this batch
  /// size (rows of x) for backward(), in the model's mode. y: (rows, output features). When
  /// max_cached_batch_sizes other batch sizes are cached, the least recently recorded one is
  /// evicted (its lists stay valid; backward() for it then needs a new forward()).
  void forward(CommandList& cmd, const Tensor& x, Tensor& y) override;
  /// Records the backward pass of the last forward() with this batch size, allocating the
  /// gradient buffers of that batch size on first use. dx may be empty. Throws InvalidArgument
  /// when no forward() was recorded for this batch size and input width since the last add() or
  /// release_buffers() (or its activations were evicted), or when it was recorded in the other
  /// mode (train / eval).
  void backward(CommandList& cmd, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override;

  /// Records inference on x (rows, in_features) f32 into y, as PyTorch's `with torch.no_grad():`
  /// on an eval() model: every layer in eval mode (BatchNorm1d normalises with its running
  /// statistics and leaves them unchanged, Dropout passes its input through), whatever the
  /// model's mode, which is left as it was. Records no backward pass and allocates no gradients;
  /// the intermediate activations live in the predict buffers (see the class comment), which grow
  /// to the rows of x: split a large input, or use the host overload, to bound them.
  /// y: (rows, classes) f32 for logits (bit-identical to forward() in eval mode) and
  /// probabilities, (rows) i32 for classes; anything else, or x not f32 with a row width the
  /// model takes, throws InvalidArgument before anything is recorded. Predictions recorded into
  /// one or several lists share the predict buffers; lists run in submission order, so that is
  /// safe.
  void predict(CommandList& cmd, const Tensor& x, Tensor& y, Prediction output = Prediction::logits);
  /// Runs inference on `rows` host rows x (rows · in_features f32, row-major) and returns the
  /// logits or probabilities, row-major (rows · classes); waits for the device. Processes at most
  /// `max_batch` rows at a time, so the device memory used is bounded by that chunk whatever the
  /// input size. Throws InvalidArgument for rows or max_batch of 0, x.size() not a multiple of
  /// rows, output == Prediction::classes (use predict_classes) and as the recording overload.
  std::vector<float> predict(std::span<const float> x, uint64_t rows, Prediction output = Prediction::logits,
                             uint64_t max_batch = default_predict_batch);
  /// As the host predict(), returning the class index of each row (Prediction::classes).
  std::vector<int32_t> predict_classes(std::span<const float> x, uint64_t rows,
                                       uint64_t max_batch = default_predict_batch);
  /// Frees the forward() / backward() activations and gradients of every batch size and the
  /// predict() buffers (of nested Sequentials and Residuals too), as the model holds them; the next forward() or
  /// predict() allocates again. Command lists recorded earlier keep what they use alive and stay
  /// valid. backward() then throws InvalidArgument until forward() is recorded again.
  void release_buffers();
  /// Bytes of device memory in the buffers the model caches (forward() activations and gradients,
  /// predict() buffers, of nested Sequentials and Residuals too), not counting parameters and their
  /// gradients.
  uint64_t cached_bytes() const;
  std::vector<Parameter> parameters() override;  ///< names "0.weight", "0.bias", "1.weight", ...
  std::vector<Buffer> buffers() override;        ///< "1.running_mean", ...
  /// Records every layer's reset_parameters with a seed derived from `seed` and the layer index,
  /// and reseeds the Dropout masks from `seed` (set_dropout_seed(seed)).
  void reset_parameters(CommandList& cmd, uint64_t seed) override;
  /// Reseeds the Dropout masks from `seed`, as reset_parameters(seed) does, leaving the parameters
  /// as they are: layer i draws its masks from a seed derived from `seed` and i (also a layer
  /// added later), at the step in step_counter(). Lists recorded before keep the seeds they were
  /// recorded with: record them again.
  void set_dropout_seed(uint64_t seed);
  /// The seed of the Dropout masks: that of the last reset_parameters() or set_dropout_seed(), 0
  /// before either.
  uint64_t dropout_seed() const { return dropout_seed_; }
  /// Sets the mode of the model and of every layer.
  void set_training(bool training) override;
  /// set_training(true), as PyTorch's model.train().
  void train() { set_training(true); }
  /// set_training(false), as PyTorch's model.eval().
  void eval() { set_training(false); }

  /// The i32 [1] step counter of the model's Dropout layers (also counts BatchNorm's
  /// num_batches_tracked). The Trainer advances it once per training step.
  Tensor& step_counter() { return step_; }
  /// Points every layer at `counter` instead of step_counter(), with per-layer seeds derived from
  /// `seed` (for a Sequential nested in another).
  void set_step_counter(const Tensor* counter, uint64_t seed) override;
  /// Passes `rows` to every layer.
  void set_replica_rows(const ReplicaRows& rows) override {
    for (auto& m : modules_) m->set_replica_rows(rows);
  }

  /// The output of layer `layer` recorded by the last forward() with `rows` rows (for statistics).
  /// Throws InvalidArgument when there is none (never recorded, evicted or released); the last
  /// layer's output is the caller's y.
  const Tensor& activation(uint64_t rows, std::size_t layer) const;

  /// PyTorch's print(model), plus one line per layer with its output shape and parameter count,
  /// and the total parameter count, for an input of `in_features` per row.
  std::string summary(uint64_t in_features) const;
  /// Total number of parameter elements.
  uint64_t parameter_count();

  /// state_dict(): parameters and buffers by PyTorch name, plus "<i>.num_batches_tracked" (I64
  /// scalar) for every BatchNorm1d, read from the step counter. Downloads (waits for the device).
  std::vector<std::pair<std::string, HostTensor>> state_dict();
  /// Loads a state_dict: every name must be present with the right dtype and shape, and no
  /// unknown names may remain; otherwise InvalidArgument listing the problems (nothing is changed).
  /// The step counter is set from num_batches_tracked when the model has a BatchNorm1d.
  void load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state);
  /// The model's training state that PyTorch's state_dict has no place for, which an exact resume
  /// needs besides state_dict(): "step_counter" (I64 scalar: the step the Dropout masks are drawn
  /// at, saved with or without a BatchNorm1d) and "dropout_seed" (I64 scalar holding the 64 bits
  /// of dropout_seed()). Downloads (waits for the device).
  std::vector<std::pair<std::string, HostTensor>> training_state();
  /// Loads training_state()'s output: sets step_counter() and set_dropout_seed(). Exactly those two
  /// names, each an I64 scalar, the step in [0, 2^31); otherwise InvalidArgument listing the
  /// problems (nothing is changed). Load it after load_state_dict(), which sets the step counter
  /// from num_batches_tracked too.
  void load_training_state(const std::vector<std::pair<std::string, HostTensor>>& state);

 private:
  struct Activations {
    uint64_t in_features = 0;       // of the input they were made for
    bool forward_recorded = false;  // a forward() was recorded with them
    bool training = true;           // the mode of the last forward() recorded with them
    uint64_t last_use = 0;          // use_clock_ at the last forward() recorded with them
    std::vector<Tensor> outputs;    // outputs[i] = output of layer i
    std::vector<Tensor> gradients;  // gradients[i] = ∂loss/∂(output of layer i - 1); empty until backward()
  };
  // Storage of predict(): whole tensors that per-batch views are cut from, grown as needed.
  struct PredictBuffers {
    Tensor hidden[2];      // layer outputs, alternately
    Tensor input, output;  // host predict: the chunk uploaded, the chunk downloaded (f32)
    Tensor classes;        // host predict_classes: the chunk downloaded (i32)
  };
  Activations& activations_for(uint64_t rows, uint64_t in_features);
  void predict_chunks(std::span<const float> x, uint64_t rows, Prediction output, uint64_t max_batch,
                      std::span<float> values, std::span<int32_t> classes);

  std::vector<std::unique_ptr<Module>> modules_;
  std::map<uint64_t, Activations> activations_;
  uint64_t use_clock_ = 0;
  PredictBuffers predict_;
  Tensor step_;
  uint64_t dropout_seed_ = 0;
};

}  // namespace vkgrad::nn
