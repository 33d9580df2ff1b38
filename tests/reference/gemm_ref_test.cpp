// The GEMM / nn.Linear references checked against each other and against finite differences.
#include "reference/gemm_ref.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "harness.hpp"

namespace vkgrad::test {

TEST_CASE("reference gemm: transposed storage gives the same product", "[reference][gemm]") {
  const std::size_t M = 5, N = 4, K = 3;
  const auto a = uniform(M * K, -1, 1, 1), b = uniform(K * N, -1, 1, 2);
  std::vector<float> at(K * M), bt(N * K);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t k = 0; k < K; ++k) at[k * M + i] = a[i * K + k];
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < N; ++j) bt[j * K + k] = b[k * N + j];
  std::vector<double> plain(M * N), both(M * N, 7.0);
  ref::gemm(a.data(), b.data(), plain.data(), M, N, K, false, false, 1, 0);
  ref::gemm(at.data(), bt.data(), both.data(), M, N, K, true, true, 2, 0.5);
  for (std::size_t i = 0; i < M * N; ++i) CHECK(both[i] == Approx(2 * plain[i] + 3.5).epsilon(1e-12));
  // One element by hand: C[1,2] = Σ_k A[1,k]·B[k,2].
  CHECK(plain[1 * N + 2] == Approx(double(a[3]) * b[2] + double(a[4]) * b[6] + double(a[5]) * b[10]).epsilon(1e-12));
}

TEST_CASE("reference linear backward matches finite differences of the forward", "[reference][gemm]") {
  // loss = Σ Y ∘ G for a fixed G, so dY = G. The forward is linear in each input, so a central
  // difference is exact up to rounding; the step actually taken is measured in float (x ± h may
  // round), which keeps that exactness.
  const std::size_t N = 3, in = 4, out = 2;
  auto x = uniform(N * in, -1, 1, 10), w = uniform(out * in, -1, 1, 11), b = uniform(out, -1, 1, 12);
  const auto g = uniform(N * out, -1, 1, 13);
  auto loss = [&] {
    std::vector<double> y(N * out);
    ref::linear_forward(x.data(), w.data(), b.data(), y.data(), N, in, out);
    double s = 0;
    for (std::size_t i = 0; i < N * out; ++i) s += y[i] * g[i];
    return s;
  };
  auto numeric = [&](std::vector<float>& v, std::size_t i) {
    const float saved = v[i];
    v[i] = saved + 1e-2f;
    const double up = loss();
    const float hi = v[i];
    v[i] = saved - 1e-2f;
    const double down = loss();
    const float lo = v[i];
    v[i] = saved;
    return (up - down) / (double(hi) - double(lo));
  };
  std::vector<double> dx(N * in), dw(out * in), db(out);
  ref::linear_backward(x.data(), w.data(), g.data(), dx.data(), dw.data(), db.data(), N, in, out);
  for (std::size_t i = 0; i < N * in; ++i) CHECK(dx[i] == Approx(numeric(x, i)).margin(1e-9));
  for (std::size_t i = 0; i < out * in; ++i) CHECK(dw[i] == Approx(numeric(w, i)).margin(1e-9));
  for (std::size_t i = 0; i < out; ++i) CHECK(db[i] == Approx(numeric(b, i)).margin(1e-9));
}

}  // namespace vkgrad::test
