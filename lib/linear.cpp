#include "vkgrad/linear.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <vector>

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"
#include "gemm_tiles.hpp"
#include "reduction_layout.hpp"
#include "shader_registry.hpp"

namespace vkgrad {

namespace {

// Push constants of gemm.comp.
struct GemmPush {
  uint32_t M, N, K;
  float alpha, beta;
};

// Push constants of linear_forward.comp.
struct LinearPush {
  uint32_t M, N, K;
  float p0, p1, theta;
};

// Push constants of linear_bias_grad.comp.
struct BiasGradPush {
  uint32_t M, N;
};

}  // namespace

namespace detail {

// Picks the workgroup tile from the device's limits and the problem's shape. The preferred tile
// is 64×64×16 (256 threads, ~8.3 KiB of shared memory): it fits every Vulkan device's guaranteed
// minimums except the thread count (128 guaranteed), and a 4×4 register block per thread gives 16
// multiply-adds per 8 shared-memory reads. A thin result (M or N ≤ 16, e.g. a linear layer on a
// batch of one) gets a 16×128 (or 128×16) tile instead so most of the workgroup is not idle.
// Then: halve the wider side until the thread count fits the device, halve TILE_K (then the tile)
// until shared memory fits, and widen the tile while the workgroup is smaller than one subgroup
// (a smaller workgroup would leave subgroup lanes idle on every wave) and its slices fit the
// shader's shared array (kGemmSharedFloats, sized for the largest starting tile). The direct and
// broadcast paths (the cpu kernel set) choose their blocks in lib/cpu_kernels.cpp.
GemmTiles choose_gemm_tiles(const DeviceInfo& dev, GemmPath path, uint64_t M, uint64_t N) {
  if (path != GemmPath::tiled) return cpu::choose_gemm_tiles(dev, path, M, N);
  GemmTiles t = kGemmSquareTile;
  if (M <= 16 && N > 16) t = kGemmWideTile;
  if (N <= 16 && M > 16) t = kGemmTallTile;
  const uint32_t max_threads = std::min(dev.max_workgroup_invocations, dev.max_workgroup_size[0]);
  auto shrink = [&t] {
    if (t.m >= t.n && t.m > kGemmRegister)
      t.m /= 2;
    else if (t.n > kGemmRegister)
      t.n /= 2;
  };
  while (t.threads() > max_threads && t.threads() > 1) shrink();
  while (t.shared_bytes() > dev.max_shared_memory && t.k > 4) t.k /= 2;
  while (t.shared_bytes() > dev.max_shared_memory && t.threads() > 1) shrink();
  while (dev.subgroup_size > 0 && t.threads() < dev.subgroup_size) {
    GemmTiles wider = t;
    (wider.n <= wider.m ? wider.n : wider.m) *= 2;
    if (wider.threads() > max_threads || wider.shared_bytes() > dev.max_shared_memory ||
        wider.shared_floats() > kGemmSharedFloats)
      break;
    t = wider;
  }
  return t;
}

bool gemm_tiles_fit(const DeviceInfo& dev, const GemmTiles& t) {
  if (t.direct) {
    const bool rows_ok = t.broadcast ? (t.m == 8 || t.m == 16 || t.m == 32) && gemm_broadcast_supported(dev) &&
                                           t.threads() % kGemmBroadcastLanes == 0
                                     : t.m == kGemmDirectRows;
    const uint32_t cols = t.broadcast ? kGemmBroadcastCols : kGemmDirectCols;
    return rows_ok && (t.broadcast || !t.swap) && t.n >= cols && t.n % cols == 0 &&
           t.threads() <= std::min(dev.max_workgroup_invocations, dev.max_workgroup_size[0]);
  }
  if (t.broadcast || t.swap) return false;
  return t.m >= kGemmRegister && t.n >= kGemmRegister && t.m % kGemmRegister == 0 && t.n % kGemmRegister == 0 &&
         t.k >= 1 && t.threads() <= std::min(dev.max_workgroup_invocations, dev.max_workgroup_size[0]) &&
         t.shared_bytes() <= dev.max_shared_memory && t.shared_floats() <= kGemmSharedFloats;
}

}  // namespace detail

namespace {

using detail::fail_argument;
using detail::GemmTiles;
using detail::require_32bit_indexable;
using detail::require_distinct;
using detail::require_matrix;

// gemm's A and B: f32, or f16 (read as binary16, accumulated in f32).
void require_gemm_input(const Tensor& t, std::string_view op, std::string_view role) {
  require_matrix(t, op, role, {DType::f32, DType::f16});
}

// What the main loop multiplies: op(A)·op(B) (M × N), or with tiles.swap op(B)ᵀ·op(A)ᵀ (N × M):
// B bound as its op(A), A as its op(B) (shaders/cpu/gemm_broadcast.glsl, SWAP_OUT).
struct GemmLoop {
  const Tensor* a;
  const Tensor* b;
  bool transpose_a, transpose_b;
  uint64_t m, n;
};

GemmLoop gemm_loop(const GemmTiles& t, const Tensor& A, const Tensor& B, bool transpose_a, bool transpose_b, uint64_t M,
                   uint64_t N) {
  if (t.swap) return {&B, &A, !transpose_b, !transpose_a, N, M};
  return {&A, &B, transpose_a, transpose_b, M, N};
}

// A workgroup per block of the loop's product (x: columns, y: rows), each dimension capped at
// detail::max_workgroups: the main loops (gemm_tile.glsl, gemm_direct.glsl, gemm_broadcast.glsl)
// stride over the blocks by the grid's size, so a product of any shape runs.
std::array<uint32_t, 3> gemm_groups(const DeviceInfo& dev, const GemmTiles& t, const GemmLoop& loop) {
  return {detail::capped_workgroups(dev, 0, (loop.n + t.n - 1) / t.n),
          detail::capped_workgroups(dev, 1, (loop.m + t.m - 1) / t.m), 1};
}

// Specialization constants 0..5 of both main loops; the direct one also takes 9 VEC_K and 10 VEC_N,
// its broadcast variant 11 VEC_M, 12 VEC_OUT and 13 SWAP_OUT too (ids 6..8 belong to
// linear_forward's epilogue, so `epilogue` fills them first when given). The VEC_* flags describe
// the loop's product; VEC_OUT (16-byte stores of C's rows) is off when it is C's transpose.
std::vector<uint32_t> gemm_specialization(const GemmTiles& t, const GemmLoop& loop, uint64_t K,
                                          std::array<uint32_t, 3> epilogue = {0, 0, 0}) {
  std::vector<uint32_t> spec{t.threads(), t.m, t.n, t.k, loop.transpose_a ? 1u : 0u, loop.transpose_b ? 1u : 0u};
  spec.insert(spec.end(), epilogue.begin(), epilogue.end());
  if (t.direct) {
    spec.insert(spec.end(), {K % 4 == 0 ? 1u : 0u, !loop.transpose_b && loop.n % 4 == 0 ? 1u : 0u});
    if (t.broadcast) {
      spec.insert(spec.end(), {loop.transpose_a && loop.m % 4 == 0 ? 1u : 0u, !t.swap && loop.n % 4 == 0 ? 1u : 0u,
                               t.swap ? 1u : 0u});
    }
  }
  return spec;
}

// Records C = alpha·op(A)·op(B) + beta·C after the caller has checked shapes: M×K times K×N.
void record_gemm(detail::CommandListImpl& c, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a,
                 bool transpose_b, float alpha, float beta, uint64_t M, uint64_t N, uint64_t K, std::string_view label,
                 const GemmTiles* forced_tiles = nullptr) {
  const GemmTiles tiles =
      forced_tiles ? *forced_tiles : detail::choose_gemm_tiles(c.device(), c.context().kernels.gemm_path, M, N);
  const GemmLoop loop = gemm_loop(tiles, A, B, transpose_a, transpose_b, M, N);
  const GemmPush push{static_cast<uint32_t>(M), static_cast<uint32_t>(N), static_cast<uint32_t>(K), alpha, beta};
  // beta == 0 never reads C, so C is declared write-only to the barrier tracker.
  const auto c_access = beta != 0.0f ? detail::Access::read_write : detail::Access::write;
  const std::initializer_list<detail::BufferUse> uses{
      {loop.a, detail::Access::read}, {loop.b, detail::Access::read}, {&C, c_access}};
  // dispatch picks the build (lib/kernel_select.cpp): the direct paths' _texel builds read A and B
  // through texel buffers where the context does (f16 inputs through their R16G16B16A16_SFLOAT
  // views: the texel fetch converts); elsewhere f16 inputs take the shader's _f16 build.
  const std::string_view shader = tiles.broadcast ? "gemm_broadcast" : tiles.direct ? "gemm_direct" : "gemm";
  const detail::Kernel kernel{shader, gemm_specialization(tiles, loop, K), 3, sizeof(GemmPush)};
  c.dispatch(kernel, uses, &push, sizeof push, gemm_groups(c.device(), tiles, loop), label);
}

// gemm(), with the tile chosen for the device unless `forced_tiles` is given.
void gemm_impl(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a, bool transpose_b,
               float alpha, float beta, const GemmTiles* forced_tiles) {
  auto& c = cmd.impl();
  const std::string op = "gemm";
  c.check_tensor(A, op, "A");
  c.check_tensor(B, op, "B");
  c.check_tensor(C, op, "C");
  require_gemm_input(A, op, "A");
  require_gemm_input(B, op, "B");
  require_matrix(C, op, "C");
  const uint64_t M = transpose_a ? A.shape()[1] : A.shape()[0];
  const uint64_t K = transpose_a ? A.shape()[0] : A.shape()[1];
  const uint64_t KB = transpose_b ? B.shape()[1] : B.shape()[0];
  const uint64_t N = transpose_b ? B.shape()[0] : B.shape()[1];
  if (K != KB || C.shape()[0] != M || C.shape()[1] != N) {
    fail_argument(op, "shapes do not fit C = op(A)·op(B): A " + A.shape().to_string() +
                          (transpose_a ? " (transposed)" : "") + ", B " + B.shape().to_string() +
                          (transpose_b ? " (transposed)" : "") + ", C " + C.shape().to_string() + "; op(A) is " +
                          std::to_string(M) + "×" + std::to_string(K) + ", op(B) is " + std::to_string(KB) + "×" +
                          std::to_string(N) + ", so C must be " + std::to_string(M) + "×" + std::to_string(N) +
                          " and the inner dimensions must agree");
  }
  require_distinct(C, "C", A, "A", op);
  require_distinct(C, "C", B, "B", op);
  require_32bit_indexable(A, op, "A");
  require_32bit_indexable(B, op, "B");
  require_32bit_indexable(C, op, "C");
  record_gemm(c, A, B, C, transpose_a, transpose_b, alpha, beta, M, N, K, op, forced_tiles);
}

}  // namespace

void gemm(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a, bool transpose_b,
          float alpha, float beta) {
  gemm_impl(cmd, A, B, C, transpose_a, transpose_b, alpha, beta, nullptr);
}

void detail::gemm_with_tiles(CommandList& cmd, const Tensor& A, const Tensor& B, Tensor& C, bool transpose_a,
                             bool transpose_b, float alpha, float beta, const GemmTiles& tiles) {
  const std::string tile = std::to_string(tiles.m) + "×" + std::to_string(tiles.n) + "×" + std::to_string(tiles.k);
  if (tiles.shared_floats() > detail::kGemmSharedFloats) {
    fail_argument("gemm", "tile " + tile + " stages " + std::to_string(tiles.shared_floats()) +
                              " floats in shared memory (k·((m + 1) + (n + 1))), more than the shader's capacity of " +
                              std::to_string(detail::kGemmSharedFloats) +
                              " (VKGRAD_GEMM_SHARED_FLOATS, shaders/shared_sizes.h); use a smaller tile");
  }
  if (!gemm_tiles_fit(cmd.impl().device(), tiles)) {
    fail_argument("gemm", "tile " + tile + " does not fit the shader or " + cmd.impl().device().name);
  }
  gemm_impl(cmd, A, B, C, transpose_a, transpose_b, alpha, beta, &tiles);
}

void linear_forward(CommandList& cmd, const Tensor& X, const Tensor& W, const Tensor& b, Tensor& Y,
                    const ActivationSpec& act) {
  auto& c = cmd.impl();
  const std::string op = "linear_forward";
  c.check_tensor(X, op, "X");
  c.check_tensor(W, op, "W");
  c.check_tensor(Y, op, "Y");
  require_gemm_input(X, op, "X");
  require_gemm_input(W, op, "W");
  require_matrix(Y, op, "Y");
  const bool has_bias = !b.empty();
  if (has_bias) {
    c.check_tensor(b, op, "b");
    detail::require_f32(b, op, "b");
  }
  const uint64_t batch = X.shape()[0], in = X.shape()[1], out = W.shape()[0];
  if (W.shape()[1] != in || Y.shape()[0] != batch || Y.shape()[1] != out || (has_bias && b.numel() != out)) {
    fail_argument(op, "shapes do not fit Y = X·Wᵀ + b: X " + X.shape().to_string() + ", W " + W.shape().to_string() +
                          ", b " + (has_bias ? b.shape().to_string() : "(none)") + ", Y " + Y.shape().to_string() +
                          "; expected X (N × in), W (out × in), b (out), Y (N × out) as in nn.Linear");
  }
  require_distinct(Y, "Y", X, "X", op);
  require_distinct(Y, "Y", W, "W", op);
  if (has_bias) require_distinct(Y, "Y", b, "b", op);
  require_32bit_indexable(X, op, "X");
  require_32bit_indexable(W, op, "W");
  require_32bit_indexable(Y, op, "Y");

  const GemmTiles tiles = detail::choose_gemm_tiles(c.device(), c.context().kernels.gemm_path, batch, out);
  const GemmLoop loop = gemm_loop(tiles, X, W, false, true, batch, out);
  auto spec =
      gemm_specialization(tiles, loop, in, {has_bias ? 1u : 0u, static_cast<uint32_t>(act.kind), act.sparse ? 1u : 0u});
  // Without a bias, binding 2 is never read (HAS_BIAS is false); X stands in for it.
  const Tensor& bias = has_bias ? b : X;
  const std::initializer_list<detail::BufferUse> uses{{loop.a, detail::Access::read},
                                                      {loop.b, detail::Access::read},
                                                      {&bias, detail::Access::read},
                                                      {&Y, detail::Access::write}};
  // dispatch picks the build, as for gemm.
  const std::string_view shader = tiles.broadcast ? "linear_forward_broadcast"
                                  : tiles.direct  ? "linear_forward_direct"
                                                  : "linear_forward";
  const detail::Kernel kernel{shader, std::move(spec), 4, sizeof(LinearPush)};
  const LinearPush push{static_cast<uint32_t>(batch),
                        static_cast<uint32_t>(out),
                        static_cast<uint32_t>(in),
                        act.params[0],
                        act.params[1],
                        act.theta};
  c.dispatch(kernel, uses, &push, sizeof push, gemm_groups(c.device(), tiles, loop), op + " " + act.to_string());
}

void linear_backward(CommandList& cmd, const Tensor& X, const Tensor& W, const Tensor& dY, Tensor& dX, Tensor& dW,
                     Tensor& db, bool accumulate) {
  auto& c = cmd.impl();
  const std::string op = "linear_backward";
  // The dispatches' timing labels also say whether they accumulate.
  const std::string label = accumulate ? op + " (accumulate)" : op;
  c.check_tensor(X, op, "X");
  c.check_tensor(W, op, "W");
  c.check_tensor(dY, op, "dY");
  c.check_tensor(dW, op, "dW");
  require_gemm_input(X, op, "X");
  require_gemm_input(W, op, "W");
  require_matrix(dY, op, "dY");
  require_matrix(dW, op, "dW");
  const bool want_dx = !dX.empty(), want_db = !db.empty();
  if (want_dx) {
    c.check_tensor(dX, op, "dX");
    require_matrix(dX, op, "dX");
  }
  if (want_db) {
    c.check_tensor(db, op, "db");
    detail::require_f32(db, op, "db");
  }
  const uint64_t batch = X.shape()[0], in = X.shape()[1], out = W.shape()[0];
  if (W.shape()[1] != in || dY.shape()[0] != batch || dY.shape()[1] != out || !(dW.shape() == W.shape()) ||
      (want_dx && !(dX.shape() == X.shape())) || (want_db && db.numel() != out)) {
    fail_argument(op, "shapes do not fit: X " + X.shape().to_string() + ", W " + W.shape().to_string() + ", dY " +
                          dY.shape().to_string() + ", dX " + (want_dx ? dX.shape().to_string() : "(skipped)") +
                          ", dW " + dW.shape().to_string() + ", db " +
                          (want_db ? db.shape().to_string() : "(skipped)") +
                          "; expected X (N × in), W (out × in), dY (N × out), dX like X, dW like W, db (out)");
  }
  for (const Tensor* in_t : {&X, &W, &dY}) {
    const char* in_role = in_t == &X ? "X" : in_t == &W ? "W" : "dY";
    require_distinct(dW, "dW", *in_t, in_role, op);
    if (want_dx) require_distinct(dX, "dX", *in_t, in_role, op);
    if (want_db) require_distinct(db, "db", *in_t, in_role, op);
  }
  if (want_dx) require_distinct(dX, "dX", dW, "dW", op);
  if (want_dx && want_db) require_distinct(dX, "dX", db, "db", op);
  if (want_db) require_distinct(db, "db", dW, "dW", op);
  require_32bit_indexable(X, op, "X");
  require_32bit_indexable(W, op, "W");
  require_32bit_indexable(dY, op, "dY");

  // dW (out × in) = dYᵀ (out × N) · X (N × in); accumulate: beta = 1.
  record_gemm(c, dY, X, dW, true, false, 1.0f, accumulate ? 1.0f : 0.0f, out, in, batch, label + " dW");
  // dX (N × in) = dY (N × out) · W (out × in).
  if (want_dx) record_gemm(c, dY, W, dX, false, false, 1.0f, 0.0f, batch, in, out, label + " dX");
  if (want_db && detail::per_invocation_reductions(c)) {
    // CPU devices: an invocation per group of 4 columns, adding the rows in order (no barriers).
    const uint32_t local = std::min<uint32_t>(64, detail::default_local_size(c.device()));
    const BiasGradPush push{static_cast<uint32_t>(batch), static_cast<uint32_t>(out)};
    const std::initializer_list<detail::BufferUse> uses{
        {&dY, detail::Access::read}, {&db, accumulate ? detail::Access::read_write : detail::Access::write}};
    const detail::Kernel kernel{
        "linear_bias_grad_columns", {local, out % 4 == 0 ? 1u : 0u, accumulate ? 1u : 0u}, 2, sizeof push};
    c.dispatch(kernel, uses, &push, sizeof push, {detail::quad_grid_stride_groups(c.context(), out, local), 1, 1},
               label + " db");
  } else if (want_db) {
    // At most detail::kMaxLocalSize: the capacity of the shader's shared array.
    const uint32_t local = detail::default_local_size(c.device());
    const uint32_t columns = std::min<uint32_t>(32, local);
    const detail::Kernel kernel{
        "linear_bias_grad", {local - local % columns, columns, accumulate ? 1u : 0u}, 2, sizeof(BiasGradPush)};
    const BiasGradPush push{static_cast<uint32_t>(batch), static_cast<uint32_t>(out)};
    c.dispatch(kernel,
               {{&dY, detail::Access::read}, {&db, accumulate ? detail::Access::read_write : detail::Access::write}},
               &push, sizeof push, {detail::capped_workgroups(c.device(), 0, (out + columns - 1) / columns), 1, 1},
               label + " db");
  }
}

}  // namespace vkgrad
