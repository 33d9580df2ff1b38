// elementwise_ref.hpp — CPU reference of the elementwise and structural ops (include/vkgrad/elementwise.hpp,
// shaders/binary_*.comp, unary_forward.comp, clamp_backward.comp, axpy.comp, copy_columns.comp,
// transpose.comp). Plain double loops.
#pragma once

#include <cstddef>
#include <vector>

namespace vkgrad::ref {

// The layout of a binary op: out has rows · cols elements; broadcast 0: a and b too, 1: b is a row
// of cols elements used by every row, 2: a is.
struct BinaryShape {
  std::size_t rows, cols;
  int broadcast;
  std::size_t a_size() const { return broadcast == 2 ? cols : rows * cols; }
  std::size_t b_size() const { return broadcast == 1 ? cols : rows * cols; }
};

// op 0 add, 1 sub, 2 mul, 3 div (IEEE: x / 0 = ±inf, 0 / 0 = NaN).
double binary_op(int op, double a, double b);

// out (rows · cols) = a op b.
std::vector<double> binary_forward(int op, const std::vector<double>& a, const std::vector<double>& b,
                                   const BinaryShape& s);

// da, db (a's, b's sizes) as PyTorch's autograd: add (g, g), sub (g, −g), mul (g b, g a),
// div (g / b, −g ((a / b) / b)); a broadcast operand's gradient summed over the rows.
void binary_backward(int op, const std::vector<double>& a, const std::vector<double>& b,
                     const std::vector<double>& dout, const BinaryShape& s, std::vector<double>& da,
                     std::vector<double>& db);

// torch.clamp(x, lo, hi): NaN x or bound gives NaN, lo > hi gives hi.
double clamp(double x, double lo, double hi);
// torch's clamp_backward: g where lo <= x <= hi, else 0.
double clamp_grad(double x, double g, double lo, double hi);

// y (rows, Σ w_i) = torch.cat(parts, dim=1); parts[i] is (rows, widths[i]) row-major.
std::vector<double> concat_columns(const std::vector<std::vector<double>>& parts,
                                   const std::vector<std::size_t>& widths, std::size_t rows);
// The inverse: parts[i] = columns of x (rows, Σ widths).
std::vector<std::vector<double>> split_columns(const std::vector<double>& x, const std::vector<std::size_t>& widths,
                                               std::size_t rows);

// y (cols, rows) = xᵀ for x (rows, cols).
std::vector<double> transpose(const std::vector<double>& x, std::size_t rows, std::size_t cols);

}  // namespace vkgrad::ref
