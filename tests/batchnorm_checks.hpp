// What the batch-norm tests (batchnorm_test.cpp, sync_batchnorm_test.cpp, nn_sync_batchnorm_test.cpp)
// share: the per-element bound check with the worst element printed, row slices of a batch, and the
// central difference their reference backward passes are checked against.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

#include "harness.hpp"

namespace vkgrad::test::bn_checks {

inline std::vector<double> doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

/// Rows [begin, end) of a row-major array of rows of `width` values.
template <class T>
std::vector<T> rows_of(const std::vector<T>& a, std::size_t width, std::size_t begin, std::size_t end) {
  return {a.begin() + static_cast<std::ptrdiff_t>(begin * width), a.begin() + static_cast<std::ptrdiff_t>(end * width)};
}

/// Checks got[i] against expected[i] within allowed[i] (an absolute error per element): NaN must meet
/// NaN and ±inf the same inf. Prints the mismatch count and the worst element.
inline void check_within(const char* what, const std::vector<float>& got, const std::vector<double>& expected,
                         const std::vector<double>& allowed) {
  REQUIRE(got.size() == expected.size());
  std::size_t bad = 0, worst = 0;
  double worst_excess = -1;  // error / allowed error; infinite for a NaN or inf where none belongs
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool ok = close(got[i], expected[i], 0.0, allowed[i]);
    bad += !ok;
    double excess = ok ? 0.0 : std::numeric_limits<double>::infinity();
    if (std::isfinite(expected[i]) && std::isfinite(got[i])) excess = std::fabs(got[i] - expected[i]) / allowed[i];
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  INFO(what << ": " << bad << " mismatches of " << got.size() << "; worst element " << worst << " got " << got[worst]
            << " expected " << expected[worst] << " allowed error " << allowed[worst] << " (error / allowed "
            << worst_excess << ")");
  CHECK(bad == 0);
}

/// (loss(v + h) − loss(v − h)) / 2h with h = 1e-6, v restored afterwards.
inline double central_difference(const std::function<double()>& loss, double& v) {
  const double h = 1e-6, saved = v;
  v = saved + h;
  const double up = loss();
  v = saved - h;
  const double down = loss();
  v = saved;
  return (up - down) / (2 * h);
}

}  // namespace vkgrad::test::bn_checks
