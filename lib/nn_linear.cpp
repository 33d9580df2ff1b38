// nn::Linear of include/vkgrad/nn/module.hpp, with its weight mask (pruning).
#include <cmath>

#include "nn_state.hpp"
#include "vkgrad/init.hpp"
#include "vkgrad/linear.hpp"
#include "vkgrad/mask.hpp"
#include "vkgrad/sparse.hpp"
#include "vkgrad/nn.hpp"

namespace vkgrad::nn {

using namespace state;

Linear::Linear(Context& context, uint64_t in_features, uint64_t out_features, bool bias)
    : Module(context), in_(in_features), out_(out_features) {
  if (in_features == 0 || out_features == 0) {
    fail("Linear", "in_features and out_features must be >= 1, got " + std::to_string(in_features) + " and " +
                       std::to_string(out_features));
  }
  weight_ = Tensor(context, {out_, in_});
  weight_grad_ = Tensor(context, {out_, in_});
  if (bias) {
    bias_ = Tensor(context, {out_});
    bias_grad_ = Tensor(context, {out_});
  }
  CommandList cmd(context);
  reset_parameters(cmd, 0);
  cmd.run();
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias_.empty() ? "False" : "True");
}

uint64_t Linear::output_features(uint64_t in_features) const {
  if (in_features != in_) {
    fail("Linear", "expects " + std::to_string(in_) + " input features, got " + std::to_string(in_features));
  }
  return out_;
}

void Linear::forward(CommandList& cmd, const Tensor& x, Tensor& y) {
  output_features(features_of(x, "Linear", "x"));
  if (training()) drop_compressed_weight();  // training changes W: the snapshot would go stale
  if (sparse_at(x.shape()[0])) {
    sparse_linear_forward(cmd, x, compressed_, bias_, y);
    return;
  }
  linear_forward(cmd, x, weight_, bias_, y);
}

void Linear::backward(CommandList& cmd, const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor& dx) {
  linear_backward(cmd, x, weight_, dy, dx, weight_grad_, bias_grad_);
  // The gradient of weight_orig·mask with respect to weight_orig (PyTorch's pruning): what clipping,
  // the gradient averaging of replicas and the optimizer then see.
  if (has_weight_mask()) mask_apply(cmd, weight_mask_, {&weight_grad_});
}

bool Linear::sparse_at(uint64_t rows) const {
  return !compressed_.empty() && sparse_is_faster(context(), rows, in_, out_, compressed_.density());
}

std::vector<Parameter> Linear::parameters() {
  std::vector<Parameter> p{{"weight", &weight_, &weight_grad_, &weight_mask_}};
  if (!bias_.empty()) p.push_back({"bias", &bias_, &bias_grad_});
  return p;
}

void Linear::reset_parameters(CommandList& cmd, uint64_t seed) {
  // PyTorch: kaiming_uniform_(weight, a=√5) = U(±1/√in), and U(±1/√in) for the bias.
  drop_compressed_weight();
  const float bound = static_cast<float>(1.0 / std::sqrt(double(in_)));
  init_uniform(cmd, weight_, -bound, bound, mix_seed(seed, 0));
  if (!bias_.empty()) init_uniform(cmd, bias_, -bound, bound, mix_seed(seed, 1));
  if (has_weight_mask()) mask_apply(cmd, weight_mask_, {&weight_});
}

void Linear::set_weight_mask(std::span<const float> mask) {
  const uint64_t n = in_ * out_;
  if (mask.size() != n) {
    fail("Linear::set_weight_mask", "the mask has " + std::to_string(mask.size()) + " values, the weight (" +
                                        std::to_string(out_) + ", " + std::to_string(in_) + ") has " +
                                        std::to_string(n));
  }
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] != 0.0f && mask[i] != 1.0f) {
      fail("Linear::set_weight_mask", "mask value " + std::to_string(i) + " (row " + std::to_string(i / in_) +
                                          ", column " + std::to_string(i % in_) + ") is " + std::to_string(mask[i]) +
                                          "; every value must be exactly 0 or 1");
    }
  }
  drop_compressed_weight();
  // A new tensor only for the first mask: later calls rewrite its values, which steps recorded
  // with it read when they run.
  if (weight_mask_.empty()) weight_mask_ = Tensor(context(), {out_, in_});
  weight_mask_.upload(mask);
  CommandList cmd(context());
  mask_apply(cmd, weight_mask_, {&weight_});
  cmd.run();
}

void Linear::remove_weight_mask() { weight_mask_ = Tensor(); }

std::vector<float> Linear::weight_mask_values() const {
  if (weight_mask_.empty()) return std::vector<float>(in_ * out_, 1.0f);
  return weight_mask_.to_vector<float>();
}

}  // namespace vkgrad::nn
