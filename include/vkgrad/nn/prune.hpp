/// \file
/// Weight pruning of a model's Linear layers: pruners that compute each layer's new weight mask on
/// the host from its weights and current mask and apply it with Linear::set_weight_mask, the
/// schedules that say when and how far to prune (one-shot, iterative, Zhu & Gupta's gradual cubic),
/// a Pruner holding both for a training loop, and shrink_pruned_neurons, which removes pruned output
/// neurons from a model for export. Included by vkgrad/nn.hpp.
///
/// Terms follow PyTorch's torch.nn.utils.prune and Zhu & Gupta (2017). `amount` (a sparsity) is the
/// fraction of the weights that are zero after pruning; the count is round(amount · n) with round
/// half to even, as PyTorch's _compute_nparams_toprune (Python's round). Masks are monotone by
/// default: a pruned weight stays pruned, already pruned weights count towards the target first, so
/// a layer already sparser than the target is left as it is. (PyTorch's iterative pruning applies
/// `amount` to the weights still unpruned; here it is always the total.)
///
/// Order of removal (the same everywhere): smallest |w| first; among equal |w|, the earlier layer
/// (global pruning), then the lower flat (row-major) index. NaN ranks above +inf, as torch.topk
/// ranks it: a NaN weight is pruned last.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vkgrad/nn/module.hpp"

namespace vkgrad::nn {

/// A Linear layer of a model chosen for pruning.
struct PruneTarget {
  /// The state_dict name of its weight: "0.weight", "2.fn.0.weight" (inside a Residual).
  std::string name;
  /// The layer, owned by the model.
  Linear* layer;
};

/// Which Linear layers of a model are pruned.
struct PruneSelection {
  /// Leaves the model's last Linear (its output layer) dense, as Han et al. and Zhu & Gupta prune
  /// it less or not at all. Off by default: the global threshold is then over every weight.
  bool skip_output_layer = false;
  /// Only these layers, by weight name ("0.weight"); empty: every Linear (less the output layer
  /// with skip_output_layer).
  std::vector<std::string> names{};
};

/// The Linear layers of `model` that `selection` chooses, in model order (forward order, into
/// nested Sequentials and Residuals). InvalidArgument when the model has no Linear layer, a name
/// in selection.names is not the weight of one, or nothing is left to prune.
std::vector<PruneTarget> prunable_layers(Sequential& model, const PruneSelection& selection = {});

/// Magnitude pruning of one layer, as prune.l1_unstructured(layer, "weight", amount): prunes the
/// round(amount · n) weights of smallest |w| (see the file comment for ties, NaN and monotone
/// masks) and sets the mask. amount in [0, 1], else InvalidArgument. Synchronous.
void l1_unstructured(Linear& layer, double amount, bool monotone = true);

/// Global magnitude pruning, as prune.global_unstructured(..., L1Unstructured, amount): one
/// threshold over the weights of every layer of `layers` (their weights pooled, round(amount · n)
/// of the pool pruned), ties broken by (|w|, layer order, index). Each layer's sparsity follows
/// from its weights. InvalidArgument for amount outside [0, 1] or no layer. Synchronous.
void global_unstructured(const std::vector<PruneTarget>& layers, double amount, bool monotone = true);

/// Random unstructured pruning (a baseline), as prune.random_unstructured: prunes round(amount · n)
/// weights chosen uniformly, deterministic for a seed. Each weight gets a key from (seed, index)
/// and the lowest keys are pruned, so with the same seed a larger amount prunes a superset.
void random_unstructured(Linear& layer, double amount, uint64_t seed, bool monotone = true);

/// N:M structured sparsity (2:4 by default) along the input dimension: in every group of M
/// consecutive inputs of a row (columns [kM, kM + M)), keeps the N weights of largest |w| (ties:
/// the higher index is kept) and prunes the others. When in_features is not a multiple of M, the
/// last, partial group of g columns keeps min(N, g). With monotone masks, weights already pruned
/// are pruned first, so a group keeps at most N. InvalidArgument unless 1 <= N <= M.
void n_m_structured(Linear& layer, uint32_t n = 2, uint32_t m = 4, bool monotone = true);

/// Neuron pruning, as prune.ln_structured(layer, "weight", amount, n=2, dim=0): prunes the
/// round(amount · out_features) output rows of smallest L2 norm (of the masked weights, in double;
/// ties: lower row first; a row holding NaN ranks above every norm), every weight of the row. The
/// bias is left as it is (see shrink_pruned_neurons). With monotone masks, rows already fully
/// pruned count first.
void ln_structured(Linear& layer, double amount, bool monotone = true);

/// The fraction of the weights of `layers` pruned by their masks (0 for layers without a mask).
/// Synchronous.
double pruned_fraction(const std::vector<PruneTarget>& layers);

/// Removes pruned output neurons from `model` in place, for export: for each top-level Linear i
/// with a mask and rows whose mask is all 0, rebuilds it without those rows and the next Linear
/// without the matching input columns (Sequential::replace; the masks of what remains are kept).
/// A pruned row's output is the constant bias b_j (its weights are 0), so its effect on the next
/// Linear, Σ_j W'[:, j] · f(b_j) with f the layers between, is folded into the next Linear's bias
/// (added when it has none and the sum is not zero); the shrunk model computes the masked model's
/// outputs up to float rounding. Between the two Linears only Activation and Dropout may stand
/// (elementwise in eval mode); anything else (BatchNorm1d, LogSoftmax, a nested module) gives
/// InvalidArgument naming it, nothing changed. The last Linear's rows are the model's outputs and
/// stay; a Linear with every row pruned keeps row 0. Nested Sequentials and Residuals are left as
/// they are. Returns the number of neurons removed.
///
/// The outputs match when the pruned weights are 0, as set_weight_mask and training with the masks
/// keep them (the rebuilt layers' masks zero any that are not). For export after training: an
/// optimizer, Trainer or command list built on the model refers to the replaced layers.
uint64_t shrink_pruned_neurons(Sequential& model);

/// When and how far to prune. Time t is an abstract counter: the caller counts epochs or steps.
struct PruneSchedule {
  /// The shape of the schedule.
  enum class Kind {
    /// Prunes to final_sparsity once, at start.
    one_shot,
    /// Prune-and-retrain: at the points start, start + frequency, ..., end (k = 0..n, n = (end −
    /// start) / frequency) prunes to s_k = s_i + (s_f − s_i)(k + 1)/(n + 1), equal steps ending at s_f.
    iterative,
    /// Zhu & Gupta's gradual pruning: at t = start + kΔt (Δt = frequency, k = 0..n, nΔt = end −
    /// start) prunes to s_t = s_f + (s_i − s_f)(1 − (t − start)/(nΔt))³ (s_f when start == end).
    cubic,
  };
  /// The shape of the schedule.
  Kind kind = Kind::one_shot;
  /// s_i: the sparsity before start (and cubic's at start).
  double initial_sparsity = 0;
  /// s_f: the sparsity from end on.
  double final_sparsity = 0;
  /// The first pruning point.
  uint64_t start = 0;
  /// The last pruning point: start for one_shot.
  uint64_t end = 0;
  /// Δt between pruning points, >= 1.
  uint64_t frequency = 1;

  /// Prunes to `sparsity` once, at `at`.
  static PruneSchedule one_shot(double sparsity, uint64_t at = 0);
  /// Iterative prune-and-retrain from `initial` to `sparsity` at start, start + frequency, ..., end.
  static PruneSchedule iterative(double sparsity, uint64_t start, uint64_t end, uint64_t frequency = 1,
                                 double initial = 0);
  /// Gradual cubic pruning from `initial` (at start) to `sparsity` (at end).
  static PruneSchedule cubic(double sparsity, uint64_t start, uint64_t end, uint64_t frequency = 1, double initial = 0);

  /// The schedule of `kind` with these arguments (for one_shot, `end`, `frequency` and `initial`
  /// are not used: it prunes to `sparsity` at start).
  static PruneSchedule make(Kind kind, double sparsity, uint64_t start, uint64_t end, uint64_t frequency = 1,
                            double initial = 0);

  /// Throws InvalidArgument unless both sparsities are in [0, 1] with initial <= final, frequency
  /// >= 1, start <= end, end − start a multiple of frequency, and end == start for one_shot.
  void validate() const;
  /// Whether t is one of the pruning points.
  bool is_pruning_point(uint64_t t) const;
  /// The target sparsity in force at t: s_i before start, that of the last pruning point <= t
  /// within [start, end], s_f after end.
  double sparsity_at(uint64_t t) const;
};

/// The pruner a Pruner applies at each pruning point.
enum class PruneMethod {
  /// l1_unstructured on each chosen layer, at the schedule's sparsity.
  magnitude,
  /// global_unstructured over the chosen layers, at the schedule's sparsity.
  global_magnitude,
  /// random_unstructured on each chosen layer, layer i (in model order) seeded from (seed, i).
  random,
  /// n_m_structured(n, m) on each chosen layer; the schedule's sparsity is not used (the pattern
  /// fixes it at 1 − N/M), only its pruning points.
  n_m,
  /// ln_structured on each chosen layer: the sparsity is the fraction of output rows pruned.
  neurons,
};

/// The method called `name`: "magnitude", "global", "random", "n:m", "neurons"; nullopt for any
/// other name.
std::optional<PruneMethod> prune_method_from_name(std::string_view name);
/// The schedule kind called `name`: "one-shot", "iterative", "cubic"; nullopt for any other name.
std::optional<PruneSchedule::Kind> prune_schedule_from_name(std::string_view name);

/// What a Pruner prunes and when.
struct PrunerOptions {
  /// The pruner applied at each pruning point.
  PruneMethod method = PruneMethod::global_magnitude;
  /// When and how far; the default, one-shot to sparsity 0 at t = 0, prunes nothing.
  PruneSchedule schedule{};
  /// Which Linear layers: every one by default.
  PruneSelection layers{};
  /// PruneMethod::random's seed.
  uint64_t seed = 0;
  /// PruneMethod::n_m's N (weights kept per group).
  uint32_t n = 2;
  /// PruneMethod::n_m's M (the group's size).
  uint32_t m = 4;
  /// Pruned weights stay pruned (see the file comment).
  bool monotone = true;
};

/// A model, a pruning method and a schedule, for a training loop that calls step(t) between epochs
/// (or steps):
///
/// \code
///   vkgrad::nn::Pruner pruner(model, {.method = vkgrad::nn::PruneMethod::global_magnitude,
///                                     .schedule = vkgrad::nn::PruneSchedule::cubic(0.9, 2, 8)});
///   for (uint64_t epoch = 0; epoch < 10; ++epoch) {
///     pruner.step(epoch);  // prunes at epochs 2..8
///     trainer.train_epoch(train_set);
///   }
/// \endcode
///
/// A Trainer records the masks when it records its step; see Linear::set_weight_mask.
class Pruner {
 public:
  /// Chooses the layers (prunable_layers) and checks the options (schedule.validate(), n and m as
  /// n_m_structured); InvalidArgument when anything is wrong. The model must outlive the Pruner,
  /// and its Linear layers must not be replaced while it is used.
  Pruner(Sequential& model, PrunerOptions options);
  /// When t is a pruning point of the schedule, prunes the chosen layers to schedule.sparsity_at(t)
  /// with the method and returns true; otherwise does nothing and returns false. Synchronous.
  bool step(uint64_t t);
  /// The layers it prunes.
  const std::vector<PruneTarget>& layers() const { return layers_; }
  /// The options it was built with.
  const PrunerOptions& options() const { return options_; }
  /// pruned_fraction(layers()).
  double sparsity() const { return pruned_fraction(layers_); }

 private:
  PrunerOptions options_;
  std::vector<PruneTarget> layers_;
};

}  // namespace vkgrad::nn
