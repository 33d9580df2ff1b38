#include "reference/optim_ref.hpp"

#include <algorithm>
#include <cmath>

namespace vkgrad::ref {

void sgd_step(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& buf, long t, double lr,
              double momentum, double dampening, bool nesterov, double weight_decay) {
  for (size_t i = 0; i < p.size(); ++i) {
    double d = g[i];
    if (weight_decay != 0) d += weight_decay * p[i];
    if (momentum != 0) {
      buf[i] = t == 1 ? d : momentum * buf[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

void adam_step(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m, std::vector<double>& v,
               long t, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const double bc1 = 1 - std::pow(beta1, double(t));
  const double bc2 = 1 - std::pow(beta2, double(t));
  for (size_t i = 0; i < p.size(); ++i) {
    double grad = g[i];
    if (weight_decay != 0) {
      if (decoupled)
        p[i] *= 1 - lr * weight_decay;
      else
        grad += weight_decay * p[i];
    }
    m[i] = beta1 * m[i] + (1 - beta1) * grad;
    v[i] = beta2 * v[i] + (1 - beta2) * grad * grad;
    p[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
  }
}

double clip_grad_norm(std::vector<std::vector<double>>& grads, double max_norm) {
  double sum = 0;
  for (const auto& g : grads) {
    for (double x : g) sum += x * x;
  }
  const double total = std::sqrt(sum);
  double coef = max_norm / (total + 1e-6);
  if (!std::isnan(coef)) coef = std::min(coef, 1.0);
  for (auto& g : grads) {
    for (double& x : g) x *= coef;
  }
  return total;
}

}  // namespace vkgrad::ref

namespace vkgrad::ref {

void penalty_accumulate(int kind, const std::vector<double>& w, std::vector<double>& grad, double lambda) {
  for (size_t i = 0; i < w.size(); ++i) {
    double term = w[i];
    if (kind == 0 && !std::isnan(term)) term = term > 0 ? 1.0 : (term < 0 ? -1.0 : 0.0);
    grad[i] += lambda * term;
  }
}

}  // namespace vkgrad::ref
