// The losses of include/vkgrad/nn/loss.hpp: thin owners of the op-level losses (vkgrad::CrossEntropyLoss,
// vkgrad::NllLoss, vkgrad::PointwiseLoss), one per input shape, with PyTorch's names and reprs.
#include <cmath>

#include "nn_state.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

using namespace state;

namespace {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::sum: return "sum";
    case Reduction::mean: break;
  }
  return "mean";
}

// The reduction argument of a repr, empty for PyTorch's default (mean).
std::string reduction_repr(Reduction r) {
  return r == Reduction::mean ? std::string() : "reduction='" + std::string(reduction_name(r)) + "'";
}

// "a, b" from the non-empty parts.
std::string join(std::initializer_list<std::string> parts) {
  std::string s;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    s += (s.empty() ? "" : ", ") + p;
  }
  return s;
}

// The op-level object for `key` in `cache`, made by `make` on first use.
template <class Op, class Make>
Op& op_for(std::map<uint64_t, Op>& cache, uint64_t key, Make make) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;
}

// Rows of a class-loss input (rows, classes); InvalidArgument for an empty tensor (the op checks
// the rest of the shape).
uint64_t input_rows(const Tensor& input, const std::string& where) {
  if (input.empty()) fail(where, "'input' is empty");
  return input.shape()[0];
}

}  // namespace

std::string Loss::to_string() const { return name() + "(" + extra_repr() + ")"; }

std::string Loss::extra_repr() const { return {}; }

// --- CrossEntropyLoss ---

CrossEntropyLoss::CrossEntropyLoss(Context& context, CrossEntropyOptions options)
    : context_(&context), options_(options) {
  if (!(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f)) {
    fail("nn::CrossEntropyLoss", "label_smoothing must be in [0, 1), got " + fmt(options.label_smoothing));
  }
}

std::string CrossEntropyLoss::extra_repr() const {
  return join({reduction_repr(options_.reduction),
               options_.ignore_index == -100 ? "" : "ignore_index=" + std::to_string(options_.ignore_index),
               options_.label_smoothing == 0.0f ? "" : "label_smoothing=" + fmt(options_.label_smoothing)});
}

vkgrad::CrossEntropyLoss& CrossEntropyLoss::for_rows(uint64_t rows) {
  return op_for(losses_, rows, [&] { return vkgrad::CrossEntropyLoss(*context_, rows, options_); });
}

void CrossEntropyLoss::forward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& loss) {
  for_rows(input_rows(logits, "nn::CrossEntropyLoss::forward")).forward(cmd, logits, labels, loss);
}

void CrossEntropyLoss::backward(CommandList& cmd, const Tensor& logits, const Tensor& labels, Tensor& dlogits) {
  for_rows(input_rows(logits, "nn::CrossEntropyLoss::backward")).backward(cmd, logits, labels, dlogits);
}

void CrossEntropyLoss::check_targets() const {
  for (const auto& [rows, loss] : losses_) loss.check_labels();
}

// --- NLLLoss ---

NLLLoss::NLLLoss(Context& context, NllOptions options) : context_(&context), options_(options) {}

std::string NLLLoss::extra_repr() const {
  return join({reduction_repr(options_.reduction),
               options_.ignore_index == -100 ? "" : "ignore_index=" + std::to_string(options_.ignore_index)});
}

vkgrad::NllLoss& NLLLoss::for_rows(uint64_t rows) {
  return op_for(losses_, rows, [&] { return vkgrad::NllLoss(*context_, rows, options_); });
}

void NLLLoss::forward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& loss) {
  for_rows(input_rows(log_probs, "nn::NLLLoss::forward")).forward(cmd, log_probs, labels, loss);
}

void NLLLoss::backward(CommandList& cmd, const Tensor& log_probs, const Tensor& labels, Tensor& dlog_probs) {
  for_rows(input_rows(log_probs, "nn::NLLLoss::backward")).backward(cmd, log_probs, labels, dlog_probs);
}

void NLLLoss::check_targets() const {
  for (const auto& [rows, loss] : losses_) loss.check_labels();
}

// --- Element-wise losses ---

ElementwiseLoss::ElementwiseLoss(Context& context, PointwiseLossKind kind, Reduction reduction, float beta)
    : context_(&context), kind_(kind), reduction_(reduction), beta_(beta) {
  if (kind == PointwiseLossKind::smooth_l1 && !(beta >= 0.0f && std::isfinite(beta))) {
    fail("nn::SmoothL1Loss", "beta must be finite and >= 0 (PyTorch's default is 1.0), got " + fmt(beta));
  }
}

std::string ElementwiseLoss::extra_repr() const {
  return join(
      {reduction_repr(reduction_), kind_ == PointwiseLossKind::smooth_l1 && beta_ != 1.0f ? "beta=" + fmt(beta_) : ""});
}

PointwiseLoss& ElementwiseLoss::for_elements(uint64_t elements) {
  return op_for(losses_, elements, [&] { return PointwiseLoss(*context_, kind_, elements, reduction_, beta_); });
}

void ElementwiseLoss::forward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& loss) {
  if (input.empty()) fail("nn::" + name() + "::forward", "'input' is empty");
  for_elements(input.numel()).forward(cmd, input, target, loss);
}

void ElementwiseLoss::backward(CommandList& cmd, const Tensor& input, const Tensor& target, Tensor& dinput) {
  if (input.empty()) fail("nn::" + name() + "::backward", "'input' is empty");
  for_elements(input.numel()).backward(cmd, input, target, dinput);
}

MSELoss::MSELoss(Context& context, Reduction reduction) : ElementwiseLoss(context, PointwiseLossKind::mse, reduction) {}

L1Loss::L1Loss(Context& context, Reduction reduction) : ElementwiseLoss(context, PointwiseLossKind::l1, reduction) {}

SmoothL1Loss::SmoothL1Loss(Context& context, SmoothL1Options options)
    : ElementwiseLoss(context, PointwiseLossKind::smooth_l1, options.reduction, options.beta) {}

BCEWithLogitsLoss::BCEWithLogitsLoss(Context& context, Reduction reduction)
    : ElementwiseLoss(context, PointwiseLossKind::bce_with_logits, reduction) {}

}  // namespace vkgrad::nn
