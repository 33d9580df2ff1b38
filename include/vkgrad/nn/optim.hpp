/// \file
/// The optimizers of the nn API: SGD, Adam and AdamW over a module's parameters. Included by vkgrad/nn.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vkgrad/command.hpp"
#include "vkgrad/nn/module.hpp"
#include "vkgrad/optim.hpp"
#include "vkgrad/safetensors.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad::nn {

/// Base of SGD / Adam / AdamW: an optimizer over a model's parameters that records one update of
/// all of them (one dispatch per parameter tensor plus one for its step counter). Movable: every
/// use of a moved-from optimizer other than destroying it or assigning to it throws
/// InvalidArgument.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Records one update of every parameter, after advancing the step counter on the device: a
  /// list recorded once takes a new step each time it is submitted. Reads the gradients as they
  /// are when the list runs.
  virtual void record_step(CommandList& cmd) = 0;
  /// "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)"
  virtual std::string to_string() const = 0;
  /// Steps taken (downloads the device counter).
  int64_t steps() const;
  /// The parameters it updates, with their state_dict names.
  const std::vector<Parameter>& params() const { return params_; }
  /// The optimizer state for an exact resume: "step" (I64 scalar) and per parameter
  /// "<param name>.<state name>" (e.g. "0.weight.exp_avg").
  virtual std::vector<std::pair<std::string, HostTensor>> state_dict() = 0;
  /// Loads state_dict()'s output; validates every name, dtype and shape first (InvalidArgument
  /// listing the problems; nothing is changed).
  virtual void load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) = 0;
  /// The i32 [1] device counter of steps taken.
  const Tensor& step_counter() const;

 protected:
  /// For derived classes, which set counter_ and params_.
  Optimizer() = default;
  /// Takes over the other's parameters and step counter, leaving it moved from.
  Optimizer(Optimizer&& other) noexcept;
  /// As the move constructor.
  Optimizer& operator=(Optimizer&& other) noexcept;

  /// The step counter; set by the derived class's constructor.
  const Tensor* counter_ = nullptr;
  /// The parameters; set by the derived class's constructor.
  std::vector<Parameter> params_;
};

/// torch.optim.SGD(model.parameters(), lr, momentum, dampening, weight_decay, nesterov).
class SGD : public Optimizer {
 public:
  /// Optimizes model.parameters() as they are now, with zeroed momentum buffers and the step
  /// counter at 0. Throws InvalidArgument when the model has no parameters. The model must
  /// outlive the optimizer.
  SGD(Module& model, SgdOptions options = {});
  /// Records optimizer_advance_step and one sgd_update per parameter; InvalidArgument for invalid
  /// options (nesterov without momentum > 0 and dampening == 0).
  void record_step(CommandList& cmd) override;
  std::string to_string() const override;
  std::vector<std::pair<std::string, HostTensor>> state_dict() override;
  void load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) override;

 private:
  std::unique_ptr<vkgrad::Sgd> impl_;
};

/// torch.optim.Adam / AdamW: `options.decoupled` selects AdamW (use vkgrad::adamw_options()).
class Adam : public Optimizer {
 public:
  /// Optimizes model.parameters() as they are now, with zeroed exp_avg / exp_avg_sq and the step
  /// counter at 0. Throws InvalidArgument when the model has no parameters. The model must
  /// outlive the optimizer.
  Adam(Module& model, AdamOptions options = {});
  /// Records optimizer_advance_step and one adam_update per parameter; InvalidArgument for betas
  /// outside [0, 1).
  void record_step(CommandList& cmd) override;
  std::string to_string() const override;
  std::vector<std::pair<std::string, HostTensor>> state_dict() override;
  void load_state_dict(const std::vector<std::pair<std::string, HostTensor>>& state) override;

 private:
  std::unique_ptr<vkgrad::Adam> impl_;
};

}  // namespace vkgrad::nn
