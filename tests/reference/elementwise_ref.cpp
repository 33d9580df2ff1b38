#include "elementwise_ref.hpp"

#include <cmath>
#include <limits>

namespace vkgrad::ref {

namespace {

std::size_t a_index(const BinaryShape& s, std::size_t i) { return s.broadcast == 2 ? i % s.cols : i; }
std::size_t b_index(const BinaryShape& s, std::size_t i) { return s.broadcast == 1 ? i % s.cols : i; }

}  // namespace

double binary_op(int op, double a, double b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
  }
}

std::vector<double> binary_forward(int op, const std::vector<double>& a, const std::vector<double>& b,
                                   const BinaryShape& s) {
  std::vector<double> out(s.rows * s.cols);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = binary_op(op, a[a_index(s, i)], b[b_index(s, i)]);
  return out;
}

void binary_backward(int op, const std::vector<double>& a, const std::vector<double>& b,
                     const std::vector<double>& dout, const BinaryShape& s, std::vector<double>& da,
                     std::vector<double>& db) {
  da.assign(s.a_size(), 0.0);
  db.assign(s.b_size(), 0.0);
  for (std::size_t i = 0; i < s.rows * s.cols; ++i) {
    const double x = a[a_index(s, i)], y = b[b_index(s, i)], g = dout[i];
    double gx = g, gy = g;
    if (op == 1) gy = -g;
    if (op == 2) gx = g * y, gy = g * x;
    if (op == 3) gx = g / y, gy = -g * ((x / y) / y);
    da[a_index(s, i)] += gx;
    db[b_index(s, i)] += gy;
  }
}

double clamp(double x, double lo, double hi) {
  if (std::isnan(x) || std::isnan(lo) || std::isnan(hi)) return std::numeric_limits<double>::quiet_NaN();
  return std::min(std::max(x, lo), hi);
}

double clamp_grad(double x, double g, double lo, double hi) { return x >= lo && x <= hi ? g : 0.0; }

std::vector<double> concat_columns(const std::vector<std::vector<double>>& parts,
                                   const std::vector<std::size_t>& widths, std::size_t rows) {
  std::size_t total = 0;
  for (std::size_t w : widths) total += w;
  std::vector<double> y(rows * total);
  for (std::size_t r = 0; r < rows; ++r) {
    std::size_t offset = 0;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      for (std::size_t c = 0; c < widths[p]; ++c) y[r * total + offset + c] = parts[p][r * widths[p] + c];
      offset += widths[p];
    }
  }
  return y;
}

std::vector<std::vector<double>> split_columns(const std::vector<double>& x, const std::vector<std::size_t>& widths,
                                               std::size_t rows) {
  std::size_t total = 0;
  for (std::size_t w : widths) total += w;
  std::vector<std::vector<double>> parts(widths.size());
  std::size_t offset = 0;
  for (std::size_t p = 0; p < widths.size(); ++p) {
    parts[p].resize(rows * widths[p]);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < widths[p]; ++c) parts[p][r * widths[p] + c] = x[r * total + offset + c];
    }
    offset += widths[p];
  }
  return parts;
}

std::vector<double> transpose(const std::vector<double>& x, std::size_t rows, std::size_t cols) {
  std::vector<double> y(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) y[c * rows + r] = x[r * cols + c];
  }
  return y;
}

}  // namespace vkgrad::ref
