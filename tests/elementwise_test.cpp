// The elementwise and structural ops (vkgrad/elementwise.hpp) against the double reference
// (tests/reference/elementwise_ref.cpp): add / sub / mul / div with and without a row-vector
// broadcast (forward and both gradients), scale, axpy, clamp (forward and backward), concatenation
// and split along the features, transpose; awkward sizes, extreme inputs, misuse.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <limits>
#include <sstream>
#include <vkgrad/elementwise.hpp>

#include "harness.hpp"
#include "reference/elementwise_ref.hpp"

namespace vkgrad::test {
namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

// Values woven into every input: ±1e4, ±0, denormals, ±inf, NaN.
const float kSpecials[] = {1e4f, -1e4f, 0.0f, -0.0f, 1e-40f, -1e-40f, inf, -inf, nan};

// `n` uniform values in [lo, hi) with the specials at indices first, first + step, ... (while they fit).
std::vector<float> with_specials(std::size_t n, float lo, float hi, uint64_t seed, std::size_t first,
                                 std::size_t step) {
  auto v = uniform(n, lo, hi, seed);
  for (std::size_t i = 0; i < std::size(kSpecials) && first + i * step < n; ++i) v[first + i * step] = kSpecials[i];
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Vulkan lets a device flush denormal inputs and results to zero (lavapipe does not; many GPUs do):
// the reference computed on inputs so flushed is accepted as well.
std::vector<double> flushed(const std::vector<float>& v) {
  std::vector<double> out(v.begin(), v.end());
  for (auto& x : out) {
    if (x != 0 && std::fabs(x) < FLT_MIN) x = std::copysign(0.0, x);
  }
  return out;
}

// An f32 result is ±inf where the exact value lies beyond the float range.
double as_float_result(double x) { return std::fabs(x) > FLT_MAX && std::isfinite(x) ? std::copysign(HUGE_VAL, x) : x; }

// Counts the elements of `got` matching neither `expected` nor `alternative` (empty: none) within
// atol[i] + rtol·|expected| (atol empty: 1e-6), reporting the first few.
std::size_t mismatches(const std::vector<float>& got, const std::vector<double>& expected,
                       const std::vector<double>& alternative, double rtol, const std::vector<double>& atol,
                       const char* what) {
  REQUIRE(got.size() == expected.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double tol = atol.empty() ? 1e-6 : atol[i];
    if (close(got[i], as_float_result(expected[i]), rtol, tol)) continue;
    if (!alternative.empty() && close(got[i], as_float_result(alternative[i]), rtol, tol)) continue;
    if (++bad <= 5) UNSCOPED_INFO(what << "[" << i << "]: got " << got[i] << " expected " << expected[i]);
  }
  return bad;
}

Shape row_shape(std::size_t cols, bool two_d) { return two_d ? Shape{1, cols} : Shape{cols}; }

// One binary op forward and backward on the layout s (broadcast 0: same shape; 1: b a row vector,
// given as (cols) or (1, cols) by row_2d; 2: a a row vector).
void check_binary(BinaryOp op, ref::BinaryShape s, bool row_2d, uint64_t seed) {
  Context& ctx = context();
  const int k = static_cast<int>(op);
  const std::size_t n = s.rows * s.cols;
  std::ostringstream where;
  where << "op " << k << " (" << s.rows << ", " << s.cols << ") broadcast " << s.broadcast
        << (row_2d ? " 2-D row" : "");
  INFO(where.str());
  const auto a = with_specials(s.a_size(), -3.0f, 3.0f, seed, 0, 7);
  const auto b = with_specials(s.b_size(), -3.0f, 3.0f, seed + 1, 3, 11);
  const auto dout = uniform(n, -1.0f, 1.0f, seed + 2);
  const Shape full{s.rows, s.cols};
  Tensor ta = Tensor::from(ctx, s.broadcast == 2 ? row_shape(s.cols, row_2d) : full, a);
  Tensor tb = Tensor::from(ctx, s.broadcast == 1 ? row_shape(s.cols, row_2d) : full, b);
  Tensor tdout = Tensor::from(ctx, full, dout);
  Tensor out(ctx, full), da(ctx, ta.shape()), db(ctx, tb.shape()), scratch(ctx, full);
  for (Tensor* t : {&out, &da, &db, &scratch}) t->fill(poison);
  CommandList cmd(ctx);
  binary_forward(cmd, op, ta, tb, out);
  binary_backward(cmd, op, ta, tb, tdout, da, db, &scratch);
  cmd.run();
  require_no_validation_messages();

  const auto ad = to_double(a), bd = to_double(b), gd = to_double(dout);
  const auto af = flushed(a), bf = flushed(b);
  // One rounding of the exact result.
  CHECK(mismatches(out.to_vector(), ref::binary_forward(k, ad, bd, s), ref::binary_forward(k, af, bf, s), 1e-5, {},
                   "out") == 0);

  std::vector<double> da_ref, db_ref, da_flush, db_flush;
  ref::binary_backward(k, ad, bd, gd, s, da_ref, db_ref);
  ref::binary_backward(k, af, bf, gd, s, da_flush, db_flush);
  // The elementwise gradients on the full layout: Σ over a column of their magnitudes bounds the
  // rounding error of a broadcast operand's column sum (its terms may cancel, so that error is not
  // relative to the sum itself): Kahan-compensated, a few ulp of Σ|terms|.
  const ref::BinaryShape plain{s.rows, s.cols, 0};
  std::vector<double> a_full(n), b_full(n), ga, gb;
  for (std::size_t i = 0; i < n; ++i) {
    a_full[i] = ad[s.broadcast == 2 ? i % s.cols : i];
    b_full[i] = bd[s.broadcast == 1 ? i % s.cols : i];
  }
  ref::binary_backward(k, a_full, b_full, gd, plain, ga, gb);
  for (int which = 0; which < 2; ++which) {
    const bool row = s.broadcast == (which == 0 ? 2 : 1);
    const auto& terms = which == 0 ? ga : gb;
    std::vector<double> atol;
    if (row) {
      atol.assign(s.cols, 1e-6);
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(terms[i])) atol[i % s.cols] += 1e-6 * std::fabs(terms[i]);
      }
    }
    // div's db = −g·((a / b) / b) rounds three times: 1e-5 relative still covers it.
    const Tensor& t = which == 0 ? da : db;
    CHECK(mismatches(t.to_vector(), which == 0 ? da_ref : db_ref, which == 0 ? da_flush : db_flush, 1e-5, atol,
                     which == 0 ? "da" : "db") == 0);
  }
}

constexpr BinaryOp kOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div};

}  // namespace

TEST_CASE("binary ops on the same shape", "[elementwise]") {
  uint64_t seed = 10;
  for (BinaryOp op : kOps) {
    for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {1, 7}, {255, 1}, {1, 257}, {13, 1031}}) {
      check_binary(op, {rows, cols, 0}, false, seed++);
    }
  }
}

TEST_CASE("binary ops broadcasting a row vector", "[elementwise]") {
  uint64_t seed = 100;
  for (BinaryOp op : kOps) {
    for (auto [rows, cols] :
         {std::pair<std::size_t, std::size_t>{1, 1}, {7, 1}, {3, 7}, {255, 3}, {2, 257}, {257, 13}, {31, 1031}}) {
      check_binary(op, {rows, cols, 1}, seed % 2 == 0, seed);
      check_binary(op, {rows, cols, 2}, seed % 2 == 1, seed + 1);
      seed += 2;
    }
  }
}

TEST_CASE("binary ops on more than 1M elements", "[elementwise]") {
  for (BinaryOp op : {BinaryOp::add, BinaryOp::div}) {
    check_binary(op, {1031, 1021, 0}, false, 500);
    check_binary(op, {1031, 1021, 1}, true, 501);
  }
  check_binary(BinaryOp::mul, {1031, 1021, 2}, false, 502);
}

TEST_CASE("binary ops on a device that allows only 3 workgroups per dimension", "[elementwise]") {
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  check_binary(BinaryOp::sub, {257, 255, 0}, false, 600);
  check_binary(BinaryOp::mul, {257, 255, 1}, false, 601);
}

TEST_CASE("scale and axpy", "[elementwise]") {
  Context& ctx = context();
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{255}, std::size_t{257}, std::size_t{1031},
                        std::size_t{(1u << 20) + 3}}) {
    for (float alpha : {-2.5f, 1e-3f, 0.0f}) {
      INFO("n " << n << " alpha " << alpha);
      const auto x = with_specials(n, -4.0f, 4.0f, n, 0, 5);
      const auto y0 = with_specials(n, -4.0f, 4.0f, n + 1, 2, 3);
      Tensor tx = Tensor::from(ctx, {n}, x), ty = Tensor::from(ctx, {n}, y0), scaled(ctx, {n});
      scaled.fill(poison);
      CommandList cmd(ctx);
      scale(cmd, alpha, tx, scaled);
      axpy(cmd, alpha, tx, ty);
      cmd.run();
      require_no_validation_messages();
      std::vector<double> want_scaled(n), want_axpy(n), atol(n);
      for (std::size_t i = 0; i < n; ++i) {
        want_scaled[i] = double(alpha) * x[i];
        want_axpy[i] = double(alpha) * x[i] + y0[i];
        // α·x is rounded before y is added: that error is relative to |α·x|, and survives when the
        // sum cancels.
        atol[i] = 1e-6 + 1e-7 * std::fabs(double(alpha) * x[i]);
      }
      const auto xf = flushed(x);
      std::vector<double> flush_scaled(n);
      for (std::size_t i = 0; i < n; ++i) flush_scaled[i] = double(alpha) * xf[i];
      CHECK(mismatches(scaled.to_vector(), want_scaled, flush_scaled, 1e-5, {}, "scale") == 0);
      CHECK(mismatches(ty.to_vector(), want_axpy, {}, 1e-5, atol, "axpy") == 0);
    }
  }
}

TEST_CASE("clamp forward and backward", "[elementwise]") {
  Context& ctx = context();
  struct Bounds {
    float lo, hi;
  };
  for (std::size_t n :
       {std::size_t{1}, std::size_t{7}, std::size_t{257}, std::size_t{1031}, std::size_t{(1u << 20) + 1}}) {
    for (Bounds bounds : {Bounds{-1.5f, 2.0f}, Bounds{0.0f, 0.0f}, Bounds{2.0f, 1.0f}, Bounds{-inf, 0.5f},
                          Bounds{-1e4f, inf}, Bounds{-1.0f, nan}}) {
      INFO("n " << n << " clamp(" << bounds.lo << ", " << bounds.hi << ")");
      auto x = with_specials(n, -5.0f, 5.0f, n + 7, 1, 3);
      // The bounds themselves, where the gradient convention matters.
      if (n > 30) x[29] = bounds.lo, x[30] = bounds.hi;
      const auto dy = uniform(n, -2.0f, 2.0f, n + 8);
      Tensor tx = Tensor::from(ctx, {n}, x), tdy = Tensor::from(ctx, {n}, dy), y(ctx, {n}), dx(ctx, {n});
      y.fill(poison);
      dx.fill(poison);
      CommandList cmd(ctx);
      clamp_forward(cmd, tx, y, bounds.lo, bounds.hi);
      clamp_backward(cmd, tx, tdy, dx, bounds.lo, bounds.hi);
      cmd.run();
      require_no_validation_messages();
      std::vector<double> want_y(n), want_dx(n), flush_y(n), flush_dx(n);
      const auto xf = flushed(x);
      for (std::size_t i = 0; i < n; ++i) {
        want_y[i] = ref::clamp(x[i], bounds.lo, bounds.hi);
        want_dx[i] = ref::clamp_grad(x[i], dy[i], bounds.lo, bounds.hi);
        flush_y[i] = ref::clamp(xf[i], bounds.lo, bounds.hi);
        flush_dx[i] = ref::clamp_grad(xf[i], dy[i], bounds.lo, bounds.hi);
      }
      // Selections and copies: exact.
      CHECK(mismatches(y.to_vector(), want_y, flush_y, 0, std::vector<double>(n, 0.0), "y") == 0);
      CHECK(mismatches(dx.to_vector(), want_dx, flush_dx, 0, std::vector<double>(n, 0.0), "dx") == 0);
    }
  }
}

namespace {

// concat_columns of parts (rows, widths[i]) with the specials woven in, then split_columns of the
// result back (concat's backward): both exact copies.
void check_concat_split(std::size_t rows, const std::vector<std::size_t>& widths, uint64_t seed) {
  Context& ctx = context();
  INFO(rows << " rows, " << widths.size() << " parts");
  std::vector<std::vector<float>> parts;
  std::vector<std::vector<double>> parts_d;
  std::vector<Tensor> inputs, outputs;
  std::size_t total = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    parts.push_back(with_specials(rows * widths[i], -3.0f, 3.0f, seed + i, i % 5, 13));
    parts_d.push_back(to_double(parts.back()));
    inputs.push_back(Tensor::from(ctx, {rows, widths[i]}, parts.back()));
    outputs.emplace_back(ctx, Shape{rows, widths[i]});
    outputs.back().fill(poison);
    total += widths[i];
  }
  Tensor y(ctx, {rows, total});
  y.fill(poison);
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor*> out_ptrs;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    in_ptrs.push_back(&inputs[i]);
    out_ptrs.push_back(&outputs[i]);
  }
  CommandList cmd(ctx);
  concat_columns(cmd, in_ptrs, y);
  split_columns(cmd, y, out_ptrs);
  cmd.run();
  require_no_validation_messages();
  const auto want = ref::concat_columns(parts_d, widths, rows);
  CHECK(mismatches(y.to_vector(), want, {}, 0, std::vector<double>(want.size(), 0.0), "y") == 0);
  const auto want_parts = ref::split_columns(want, widths, rows);
  for (std::size_t i = 0; i < widths.size(); ++i) {
    CHECK(mismatches(outputs[i].to_vector(), want_parts[i], {}, 0, std::vector<double>(want_parts[i].size(), 0.0),
                     "part") == 0);
  }
}

}  // namespace

TEST_CASE("concat and split along the features", "[elementwise]") {
  check_concat_split(1, {1}, 1);
  check_concat_split(7, {3, 1, 4}, 2);
  check_concat_split(3, {255, 257, 7}, 3);
  check_concat_split(257, {1, 13, 2}, 4);
  check_concat_split(1031, {257, 511, 255}, 5);  // > 1M elements
  // More inputs than many devices allow storage buffers in one pipeline
  // (maxPerStageDescriptorStorageBuffers is often 31 or 96): one copy per input.
  check_concat_split(5, std::vector<std::size_t>(300, 1), 6);
}

TEST_CASE("concat and split on a device that allows only 3 workgroups per dimension", "[elementwise]") {
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  check_concat_split(257, {255, 1, 257}, 7);
}

TEST_CASE("transpose", "[elementwise]") {
  Context& ctx = context();
  for (auto [rows, cols] :
       {std::pair<std::size_t, std::size_t>{1, 1}, {7, 1}, {1, 7}, {255, 257}, {13, 1031}, {1031, 1021}}) {
    INFO("(" << rows << ", " << cols << ")");
    const auto x = with_specials(rows * cols, -3.0f, 3.0f, rows + cols, 2, 17);
    Tensor tx = Tensor::from(ctx, {rows, cols}, x), y(ctx, {cols, rows}), back(ctx, {rows, cols});
    y.fill(poison);
    back.fill(poison);
    CommandList cmd(ctx);
    transpose(cmd, tx, y);
    transpose(cmd, y, back);  // the backward of transpose is transpose
    cmd.run();
    require_no_validation_messages();
    const auto want = ref::transpose(to_double(x), rows, cols);
    const std::vector<double> exact(x.size(), 0.0);
    CHECK(mismatches(y.to_vector(), want, {}, 0, exact, "y") == 0);
    CHECK(mismatches(back.to_vector(), to_double(x), {}, 0, exact, "back") == 0);
  }
  ScopedContext scoped([](ContextOptions&) {});
  limit_workgroup_count(3);
  Context& limited = context();
  const auto x = with_specials(257 * 255, -3.0f, 3.0f, 9, 0, 5);
  Tensor tx = Tensor::from(limited, {257, 255}, x), y(limited, {255, 257});
  y.fill(poison);
  CommandList cmd(limited);
  transpose(cmd, tx, y);
  cmd.run();
  const auto want = ref::transpose(to_double(x), 257, 255);
  CHECK(mismatches(y.to_vector(), want, {}, 0, std::vector<double>(want.size(), 0.0), "y") == 0);
}

TEST_CASE("elementwise ops refuse bad arguments", "[elementwise]") {
  Context& ctx = context();
  Tensor a(ctx, {3, 4}), b(ctx, {3, 4}), out(ctx, {3, 4}), t43(ctx, {4, 3}), row(ctx, {4}), row2(ctx, {2, 4});
  Tensor ints(ctx, {3, 4}, DType::i32), small(ctx, {5});
  CommandList cmd(ctx);
  Tensor none;
  require_refused([&] { add(cmd, a, ints, out); }, {"add forward", "'b' must be f32", "i32"});
  require_refused([&] { mul(cmd, a, t43, out); }, {"mul forward", "[3, 4]", "[4, 3]", "row vector"});
  require_refused([&] { sub(cmd, a, row2, out); }, {"sub forward", "[2, 4]", "row vector"});
  require_refused([&] { add(cmd, a, row, t43); }, {"add forward", "'out' [4, 3]", "same shape"});
  require_refused([&] { add(cmd, a, b, a); }, {"add forward", "'out' must not be the same tensor as 'a'"});
  require_refused([&] { binary_backward(cmd, BinaryOp::mul, a, row, out, none, row); },
                  {"mul backward", "'db' must not be the same tensor as 'b'"});
  Tensor drow(ctx, {4});
  require_refused([&] { binary_backward(cmd, BinaryOp::div, a, row, out, none, drow); },
                  {"div backward", "needs 'scratch'", "12 elements"});
  require_refused([&] { binary_backward(cmd, BinaryOp::div, a, row, out, none, drow, &small); },
                  {"div backward", "'scratch' must hold 12 elements"});
  require_refused([&] { binary_backward(cmd, BinaryOp::add, a, row, t43, none, drow); },
                  {"add backward", "'dout' [4, 3]"});
  require_refused([&] { binary_forward(cmd, static_cast<BinaryOp>(9), a, b, out); }, {"unknown BinaryOp 9"});
  require_refused([&] { scale(cmd, 2.0f, a, small); }, {"scale", "same number of elements"});
  require_refused([&] { axpy(cmd, 2.0f, a, a); }, {"axpy", "'y' must not be the same tensor as 'x'"});
  require_refused([&] { clamp_forward(cmd, ints, out, 0, 1); }, {"clamp_forward", "'x' must be f32"});
  require_refused([&] { clamp_backward(cmd, a, small, out, 0, 1); }, {"clamp_backward", "'dy' [5]"});

  Tensor wide(ctx, {3, 8}), other_rows(ctx, {2, 4}), flat(ctx, {12});
  const Tensor* parts[] = {&a, &b};
  require_refused([&] { concat_columns(cmd, std::span<const Tensor* const>(), wide); },
                  {"concat_columns", "at least one"});
  const Tensor* mismatched[] = {&a, &other_rows};
  require_refused([&] { concat_columns(cmd, mismatched, wide); }, {"concat_columns", "'inputs[1]' [2, 4] has 2 rows"});
  require_refused([&] { concat_columns(cmd, parts, out); }, {"concat_columns", "8 columns together", "'y' [3, 4]"});
  const Tensor* flat_part[] = {&flat};
  require_refused([&] { concat_columns(cmd, flat_part, a); }, {"concat_columns", "'inputs[0]' must be a 2-D f32"});
  const Tensor* self[] = {&a};
  require_refused([&] { concat_columns(cmd, self, a); }, {"concat_columns", "must not be the same tensor"});
  Tensor* twice[] = {&a, &a};
  require_refused([&] { split_columns(cmd, wide, twice); }, {"split_columns", "'outputs[1]' must not be the same"});
  require_refused([&] { transpose(cmd, a, out); }, {"transpose", "'y' [3, 4]", "[4, 3]"});
  require_refused([&] { transpose(cmd, flat, out); }, {"transpose", "'x' must be a 2-D f32"});
  require_no_validation_messages();
}

}  // namespace vkgrad::test
