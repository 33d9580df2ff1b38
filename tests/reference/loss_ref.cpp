#include "loss_ref.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vkgrad::ref {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool ignored(int32_t label, const CrossEntropyParams& p) { return label == p.ignore_index; }
bool out_of_range(int32_t label, std::size_t C) { return label < 0 || label >= static_cast<int64_t>(C); }

// log Σ_j e^x_j of one row, NaN when the row's maximum is not finite.
double log_sum_exp(const double* xr, std::size_t C) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < C; ++c) {
    if (std::isnan(xr[c])) return kNaN;
    if (xr[c] > m) m = xr[c];
  }
  if (std::isinf(m)) return kNaN;
  double s = 0;
  for (std::size_t c = 0; c < C; ++c) s += std::exp(xr[c] - m);
  return m + std::log(s);
}

std::size_t counted_rows(const int32_t* labels, std::size_t N, const CrossEntropyParams& p) {
  std::size_t count = 0;
  for (std::size_t n = 0; n < N; ++n) count += ignored(labels[n], p) ? 0 : 1;
  return count;
}

}  // namespace

std::vector<double> cross_entropy_forward(const double* x, const int32_t* labels, std::size_t N, std::size_t C,
                                          const CrossEntropyParams& p) {
  std::vector<double> rows(N);
  const double eps = p.label_smoothing;
  for (std::size_t n = 0; n < N; ++n) {
    const double* xr = x + n * C;
    if (ignored(labels[n], p)) {
      rows[n] = 0;
      continue;
    }
    if (out_of_range(labels[n], C)) {
      rows[n] = kNaN;
      continue;
    }
    const double lse = log_sum_exp(xr, C);
    double loss = (1 - eps) * (lse - xr[labels[n]]);
    if (eps > 0) {
      double mean = 0;
      for (std::size_t c = 0; c < C; ++c) mean += xr[c];
      loss += eps * (lse - mean / double(C));
    }
    rows[n] = loss;
  }
  if (p.reduction == 0) return rows;
  double sum = 0;
  for (double r : rows) sum += r;
  if (p.reduction == 2) return {sum};
  const std::size_t count = counted_rows(labels, N, p);
  return {count == 0 ? kNaN : sum / double(count)};
}

void cross_entropy_backward(const double* x, const int32_t* labels, double* dx, std::size_t N, std::size_t C,
                            const CrossEntropyParams& p, double dloss) {
  const double eps = p.label_smoothing;
  const std::size_t count = counted_rows(labels, N, p);
  const double scale = dloss / (p.reduction == 1 ? double(count > 0 ? count : 1) : 1.0);
  for (std::size_t n = 0; n < N; ++n) {
    const double* xr = x + n * C;
    double* dr = dx + n * C;
    if (ignored(labels[n], p)) {
      for (std::size_t c = 0; c < C; ++c) dr[c] = 0;
      continue;
    }
    const double lse = out_of_range(labels[n], C) ? kNaN : log_sum_exp(xr, C);
    for (std::size_t c = 0; c < C; ++c) {
      const double target = eps / double(C) + (static_cast<int64_t>(c) == labels[n] ? 1 - eps : 0);
      dr[c] = (std::exp(xr[c] - lse) - target) * scale;
    }
  }
}

std::vector<double> nll_forward(const double* logp, const int32_t* labels, std::size_t N, std::size_t C, int reduction,
                                int32_t ignore_index) {
  std::vector<double> rows(N);
  std::size_t count = 0;
  for (std::size_t n = 0; n < N; ++n) {
    if (labels[n] == ignore_index) {
      rows[n] = 0;
      continue;
    }
    ++count;
    rows[n] = out_of_range(labels[n], C) ? kNaN : -logp[n * C + labels[n]];
  }
  if (reduction == 0) return rows;
  double sum = 0;
  for (double r : rows) sum += r;
  if (reduction == 2) return {sum};
  return {count == 0 ? kNaN : sum / double(count)};
}

void nll_backward(const int32_t* labels, double* dlogp, std::size_t N, std::size_t C, int reduction,
                  int32_t ignore_index, double dloss) {
  std::size_t count = 0;
  for (std::size_t n = 0; n < N; ++n) count += labels[n] != ignore_index;
  const double scale = dloss / (reduction == 1 ? double(count > 0 ? count : 1) : 1.0);
  for (std::size_t n = 0; n < N; ++n) {
    for (std::size_t c = 0; c < C; ++c) {
      double v = 0;
      if (labels[n] != ignore_index) {
        v = out_of_range(labels[n], C) ? kNaN : (static_cast<int64_t>(c) == labels[n] ? -scale : 0.0);
      }
      dlogp[n * C + c] = v;
    }
  }
}

namespace {

double sign_of(double d) { return std::isnan(d) ? d : d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0; }

double pointwise_term(double x, double t, int kind, double beta) {
  const double d = x - t;
  switch (kind) {
    case 0: return d * d;
    case 1:
      if (std::isnan(x)) return kNaN;  // std::max(NaN, 0) is 0
      return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
    case 2: return std::fabs(d);
    default:
      if (std::isnan(d)) return kNaN;
      return std::fabs(d) < beta ? 0.5 * d * d / beta : std::fabs(d) - 0.5 * beta;
  }
}

double pointwise_derivative(double x, double t, int kind, double beta) {
  const double d = x - t;
  switch (kind) {
    case 0: return 2 * d;
    case 1: return 1 / (1 + std::exp(-x)) - t;
    case 2: return sign_of(d);
    default: return std::fabs(d) < beta ? d / beta : sign_of(d);
  }
}

}  // namespace

std::vector<double> pointwise_loss_forward(const double* x, const double* t, std::size_t n, int kind, int reduction,
                                           double beta) {
  std::vector<double> terms(n);
  for (std::size_t i = 0; i < n; ++i) terms[i] = pointwise_term(x[i], t[i], kind, beta);
  if (reduction == 0) return terms;
  double sum = 0;
  for (double v : terms) sum += v;
  return {reduction == 1 ? sum / double(n) : sum};
}

void pointwise_loss_backward(const double* x, const double* t, double* dx, std::size_t n, int kind, int reduction,
                             double dloss, double beta) {
  const double scale = dloss / (reduction == 1 ? double(n) : 1.0);
  for (std::size_t i = 0; i < n; ++i) dx[i] = pointwise_derivative(x[i], t[i], kind, beta) * scale;
}

}  // namespace vkgrad::ref
