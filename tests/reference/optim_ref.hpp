// optim_ref.hpp — double-precision CPU reference of the optimizers and gradient clipping of
// include/vkgrad/optim.hpp: the specification the shaders are tested against. Hyperparameters are
// taken as the float32 values the device receives (converted exactly to double), so the reference
// and the shader solve the same problem and differ only by float32 rounding.
#pragma once

#include <cstddef>
#include <vector>

namespace vkgrad::ref {

// One torch.optim.SGD step, PyTorch's order. p, g, buf: (n,). t: the step number (>= 1); on t == 1
// the momentum buffer is initialised to the (decayed) gradient. Updates p and buf in place.
//     d = g + wd·p;  buf = t == 1 ? d : momentum·buf + (1 − dampening)·d
//     d = nesterov ? d + momentum·buf : buf  (momentum != 0 only);  p -= lr·d
void sgd_step(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& buf, long t, double lr,
              double momentum, double dampening, bool nesterov, double weight_decay);

// One torch.optim.Adam (decoupled = false) / AdamW (true) step, PyTorch's order. p, g, m, v: (n,).
// t >= 1. Updates p, m, v in place.
void adam_step(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m, std::vector<double>& v,
               long t, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled);

// torch.nn.utils.clip_grad_norm_: returns the total 2-norm of all grads (before clipping) and
// scales every gradient by min(1, max_norm / (total + 1e-6)).
double clip_grad_norm(std::vector<std::vector<double>>& grads, double max_norm);

}  // namespace vkgrad::ref

namespace vkgrad::ref {

// Penalty gradients added to grad, w and grad: (n,). kind 0: L1, grad += lambda·sign(w) with
// sign(±0) = 0 and sign(NaN) = NaN; kind 1: L2, grad += lambda·w. (The L1 activity penalty is
// kind 0 with w = y, grad = dy.)
void penalty_accumulate(int kind, const std::vector<double>& w, std::vector<double>& grad, double lambda);

}  // namespace vkgrad::ref
