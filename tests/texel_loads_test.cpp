// The texel-load shader variants (shaders/texel_io.glsl: inputs through uniform texel buffers,
// outputs as 64-bit words; the cpu kernel set's) against the storage-buffer variants: the same
// results, within the tolerance of two separately compiled modules (tests/harness.hpp
// run_differences; on lavapipe they are the same bits), for every activation, prelu backward, random initializer, GEMM
// path, optimizer update, penalty, gradient clipping, dropout, pointwise loss, whole-tensor and column reduction, with
// denormals, infinities, NaNs and every n % 4 tail in the inputs (NaN outputs must be NaN on both;
// their sign and payload may differ). The conformance tests check both paths against the
// references: scripts/test.sh runs them with the default kernel set and with VKGRAD_KERNELS=gpu.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "gemm_tiles.hpp"
#include "harness.hpp"
#include "reference/gemm_ref.hpp"

namespace vkgrad::test {
namespace {

// The largest finite magnitude of the given equally long inputs at each element: the scale of the
// terms an elementwise op rounds (run_differences). Non-finite inputs count as 0: where one decides
// the result, the result is non-finite or exactly 0 on both paths.
std::vector<double> largest(std::initializer_list<const std::vector<float>*> inputs) {
  std::vector<double> scale((*inputs.begin())->size(), 0.0);
  for (const auto* v : inputs) {
    for (std::size_t i = 0; i < scale.size(); ++i) {
      if (std::isfinite((*v)[i])) scale[i] = std::max(scale[i], std::fabs(double((*v)[i])));
    }
  }
  return scale;
}

// `parts` one after the other (the scales of outputs a test compares as one vector).
std::vector<double> joined(std::initializer_list<std::vector<double>> parts) {
  std::vector<double> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// Whether the texel build and the storage-buffer build of the ops agree (tests/harness.hpp
// run_differences: they are separately compiled modules of the same arithmetic).
std::string texel_differences(const std::vector<float>& texel, const std::vector<float>& storage,
                              const std::vector<double>& scale = {}) {
  return run_differences(texel, storage, Modules::separate, scale);
}

// Inputs with the awkward values woven in: a NaN with a payload, ±inf, denormals, ±0, ±1e4.
std::vector<float> awkward(std::size_t n, uint64_t seed) {
  auto v = uniform(n, -4.0f, 4.0f, seed);
  uint32_t payload_nan = 0x7fc12345u;
  float special[9];
  std::memcpy(&special[0], &payload_nan, 4);
  special[1] = std::numeric_limits<float>::infinity();
  special[2] = -std::numeric_limits<float>::infinity();
  special[3] = 1e-40f;
  special[4] = -1e-42f;
  special[5] = 0.0f;
  special[6] = -0.0f;
  special[7] = 1e4f;
  special[8] = -1e4f;
  for (std::size_t i = 0; i < n; i += 3) v[i] = special[(i / 3) % 9];
  return v;
}

struct Pair {
  Context texel, plain;
  explicit Pair(ContextOptions options = {})
      : texel(ContextOptions(options).set_texel_loads(true)), plain(ContextOptions(options).set_texel_loads(false)) {}
};

// Whether the device runs the texel variants; else WARNs that the calling test is skipped.
bool texel_capable(const Pair& p) {
  if (p.texel.texel_loads()) return true;
  WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
  return false;
}

// texel_differences between what `run` (Context& -> std::vector<float>, the outputs to compare)
// gives on the texel-load context and on the storage-buffer one; `scale` as for run_differences.
template <class F>
std::string texel_vs_storage(Pair& p, F&& run, const std::vector<double>& scale = {}) {
  const std::vector<float> texel = run(p.texel);
  return texel_differences(texel, run(p.plain), scale);
}

// Appends t's elements to v.
void append(std::vector<float>& v, const Tensor& t) {
  const auto e = t.to_vector();
  v.insert(v.end(), e.begin(), e.end());
}

TEST_CASE("run_differences: bits for one module, the tolerance for two, NaN and inf exactly", "[harness]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> a = {1.0f, -2.0f, nan, inf, 0.0f};
  std::vector<float> b = a;
  b[2] = -nan;  // another NaN: agrees
  CHECK(run_differences(a, b, Modules::same) == "");
  b[0] = std::nextafter(1.0f, 2.0f);  // one ulp: not the same bits, within the tolerance
  CHECK_THAT(run_differences(a, b, Modules::same), Catch::Contains("1 of 5 elements differ in their bits"));
  CHECK(run_differences(a, b, Modules::separate) == "");
  b[1] = -2.0f * (1 + 2e-5f);  // beyond 1e-6 + 1e-5·2 ...
  CHECK_THAT(run_differences(a, b, Modules::separate), Catch::Contains("1 of 5 elements differ beyond"));
  CHECK(run_differences(a, b, Modules::separate, {0, 10, 0, 0, 0}) == "");  // ... within 1e-5·10
  b = a;
  b[3] = -inf;
  CHECK(run_differences(a, b, Modules::separate, {0, 0, 0, 1e30, 0}) != "");
  b = a;
  b[4] = nan;
  CHECK(run_differences(a, b, Modules::separate, {0, 0, 0, 0, 1e30}) != "");
  CHECK(run_differences(a, {1.0f}, Modules::separate) != "");
}

TEST_CASE("texel loads: activations agree with storage-buffer loads", "[activation][texel]") {
  Pair p;
  if (!p.texel.texel_loads()) {
    WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
    return;
  }
  REQUIRE_FALSE(p.plain.texel_loads());
  for (const auto& info : activations()) {
    const ActivationSpec act(info.kind);
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul, (1ul << 20) + 1}) {
      if (n > 65539 && info.kind != Activation::relu && info.kind != Activation::gelu) continue;
      const auto x = awkward(n, n), dy = awkward(n, n + 1);
      std::vector<float> results[2][2];
      Context* ctxs[2] = {&p.texel, &p.plain};
      for (int c = 0; c < 2; ++c) {
        Context& ctx = *ctxs[c];
        Tensor tx = Tensor::from(ctx, {n}, x), tdy = Tensor::from(ctx, {n}, dy);
        Tensor y(ctx, {n}), dx(ctx, {n});
        y.fill(std::numeric_limits<float>::quiet_NaN());
        dx.fill(std::numeric_limits<float>::quiet_NaN());
        CommandList cmd(ctx);
        activation_forward(cmd, act, tx, y);
        activation_backward(cmd, act, tx, tdy, dx);
        cmd.run();
        results[c][0] = y.to_vector();
        results[c][1] = dx.to_vector();
      }
      INFO(act.to_string() << " n=" << n);
      const auto scale = largest({&x, &dy});
      CHECK(texel_differences(results[0][0], results[1][0], scale) == "");
      CHECK(texel_differences(results[0][1], results[1][1], scale) == "");
    }
  }
}

TEST_CASE("texel loads: every GEMM path agrees with storage-buffer loads", "[gemm][texel]") {
  struct Dims {
    uint64_t M, N, K;
  };
  for (const auto path : {GemmPath::direct, GemmPath::broadcast}) {
    Pair p(ContextOptions{}.set_gemm_path(path));
    if (!p.texel.texel_loads()) {
      WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
      return;
    }
    for (const Dims s : {Dims{1, 1, 1}, Dims{7, 5, 3}, Dims{33, 17, 12}, Dims{128, 64, 784}, Dims{10, 256, 128}}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          const auto a = awkward(s.M * s.K, 1), b = awkward(s.K * s.N, 2);
          std::vector<float> results[2];
          Context* ctxs[2] = {&p.texel, &p.plain};
          for (int c = 0; c < 2; ++c) {
            Context& ctx = *ctxs[c];
            Tensor A = Tensor::from(ctx, ta ? Shape{s.K, s.M} : Shape{s.M, s.K}, a);
            Tensor B = Tensor::from(ctx, tb ? Shape{s.N, s.K} : Shape{s.K, s.N}, b);
            Tensor C(ctx, {s.M, s.N});
            C.fill(0.5f);
            CommandList cmd(ctx);
            gemm(cmd, A, B, C, ta, tb, 1.5f, 0.25f);
            cmd.run();
            results[c] = C.to_vector();
          }
          INFO("M=" << s.M << " N=" << s.N << " K=" << s.K << " ta=" << ta << " tb=" << tb
                    << " path=" << to_string(path));
          // The terms: 1.5·a·b for each k (which may cancel) and 0.25·0.5.
          std::vector<double> scale(s.M * s.N);
          ref::gemm_magnitude(a.data(), b.data(), scale.data(), s.M, s.N, s.K, ta, tb);
          for (double& m : scale) m = 1.5 * m + 0.125;
          CHECK(texel_differences(results[0], results[1], scale) == "");
        }
      }
    }
  }
}

TEST_CASE("texel loads: optimizer updates agree with storage-buffer loads", "[optim][texel]") {
  Pair p;
  if (!p.texel.texel_loads()) {
    WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
    return;
  }
  // Three steps each, so the first-step branches (SGD's buffer initialisation, Adam's bias
  // corrections) and the later ones both run; parameters, gradients and state in place.
  struct Variant {
    const char* name;
    bool adam;
    AdamOptions adam_options;
    SgdOptions sgd_options;
  };
  const Variant variants[] = {
      {"adam", true, {.lr = 0.01f}, {}},
      {"adam wd", true, {.lr = 0.01f, .weight_decay = 0.1f}, {}},
      {"adamw", true, adamw_options(), {}},
      {"sgd", false, {}, {.lr = 0.1f}},
      {"sgd momentum wd", false, {}, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.25f, .weight_decay = 0.01f}},
      {"sgd nesterov", false, {}, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true}},
  };
  for (const Variant& v : variants) {
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul}) {
      const auto param = awkward(n, 3 * n), grad = awkward(n, 3 * n + 1), state = uniform(n, 0.0f, 2.0f, 3 * n + 2);
      std::vector<float> results[2][3];
      Context* ctxs[2] = {&p.texel, &p.plain};
      for (int c = 0; c < 2; ++c) {
        Context& ctx = *ctxs[c];
        Tensor tp = Tensor::from(ctx, {n}, param), tg = Tensor::from(ctx, {n}, grad);
        Tensor step = make_step_counter(ctx);
        AdamState adam(ctx, tp);
        SgdState sgd(ctx, tp);
        adam.exp_avg.upload(state);
        adam.exp_avg_sq.upload(state);
        sgd.momentum_buffer.upload(state);
        CommandList cmd(ctx);
        for (int s = 0; s < 3; ++s) {
          optimizer_advance_step(cmd, step);
          if (v.adam)
            adam_update(cmd, v.adam_options, tp, tg, adam, step);
          else
            sgd_update(cmd, v.sgd_options, tp, tg, sgd, step);
        }
        cmd.run();
        results[c][0] = tp.to_vector();
        results[c][1] = v.adam ? adam.exp_avg.to_vector() : sgd.momentum_buffer.to_vector();
        results[c][2] = v.adam ? adam.exp_avg_sq.to_vector() : std::vector<float>{};
      }
      INFO(v.name << " n=" << n);
      // Each update is a short chain over the parameter, gradient and state at one element.
      const auto scale = largest({&param, &grad, &state});
      CHECK(texel_differences(results[0][0], results[1][0], scale) == "");
      CHECK(texel_differences(results[0][1], results[1][1], scale) == "");
      CHECK(texel_differences(results[0][2], results[1][2], v.adam ? scale : std::vector<double>{}) == "");
    }
  }
}

TEST_CASE("texel loads: dropout agrees with storage-buffer loads", "[dropout][texel]") {
  Pair p;
  if (!p.texel.texel_loads()) {
    WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
    return;
  }
  for (bool counter : {false, true}) {
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul}) {
      const auto x = awkward(n, 5 * n);
      std::vector<float> results[2];
      Context* ctxs[2] = {&p.texel, &p.plain};
      for (int c = 0; c < 2; ++c) {
        Context& ctx = *ctxs[c];
        Tensor tx = Tensor::from(ctx, {n}, x), y(ctx, {n});
        y.fill(std::numeric_limits<float>::quiet_NaN());
        Tensor step = make_step_counter(ctx);
        DropoutOptions o = DropoutOptions{}.set_p(0.3f).set_seed(11).set_step(2);
        if (counter) o.step_counter = &step;
        CommandList cmd(ctx);
        dropout_forward(cmd, tx, y, o);
        cmd.run();
        results[c] = y.to_vector();
      }
      INFO("n=" << n << " step counter " << counter);
      CHECK(texel_differences(results[0], results[1], largest({&x})) == "");
    }
  }
}

TEST_CASE("texel loads: pointwise losses agree with storage-buffer loads", "[loss][texel]") {
  Pair p;
  if (!p.texel.texel_loads()) {
    WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
    return;
  }
  for (const auto kind : {PointwiseLossKind::mse, PointwiseLossKind::bce_with_logits}) {
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul}) {
      const auto x = awkward(n, 7 * n), t = awkward(n, 7 * n + 1);
      std::vector<float> results[2][2];
      Context* ctxs[2] = {&p.texel, &p.plain};
      for (int c = 0; c < 2; ++c) {
        Context& ctx = *ctxs[c];
        Tensor tx = Tensor::from(ctx, {n}, x), tt = Tensor::from(ctx, {n}, t), terms(ctx, {n}), dx(ctx, {n});
        terms.fill(std::numeric_limits<float>::quiet_NaN());
        dx.fill(std::numeric_limits<float>::quiet_NaN());
        PointwiseLoss loss(ctx, kind, n, Reduction::none);
        CommandList cmd(ctx);
        loss.forward(cmd, tx, tt, terms);
        loss.backward(cmd, tx, tt, dx, 0.5f);
        cmd.run();
        results[c][0] = terms.to_vector();
        results[c][1] = dx.to_vector();
      }
      INFO((kind == PointwiseLossKind::mse ? "mse" : "bce_with_logits") << " n=" << n);
      const auto scale = largest({&x, &t});
      CHECK(texel_differences(results[0][0], results[1][0], scale) == "");
      CHECK(texel_differences(results[0][1], results[1][1], scale) == "");
    }
  }
}

TEST_CASE("texel loads: whole-tensor reductions agree with storage-buffer loads", "[reduce][texel]") {
  Pair p;
  if (!p.texel.texel_loads()) {
    WARN("skipped: " << p.texel.device().name << " cannot read through texel buffers");
    return;
  }
  for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul, (1ul << 20) + 3}) {
    // Finite values (the sums stay finite) and the awkward ones (NaN / inf decide every result).
    for (const auto& x : {uniform(n, -4.0f, 4.0f, 11 * n), awkward(n, 11 * n + 1)}) {
      std::vector<float> results[2];
      Context* ctxs[2] = {&p.texel, &p.plain};
      for (int c = 0; c < 2; ++c) {
        Context& ctx = *ctxs[c];
        Tensor tx = Tensor::from(ctx, {n}, x);
        Tensor sum(ctx, {1}), mean(ctx, {1}), max(ctx, {1}), norm(ctx, {1});
        for (Tensor* t : {&sum, &mean, &max, &norm}) t->fill(std::numeric_limits<float>::quiet_NaN());
        ReduceWorkspace workspace(ctx);
        CommandList cmd(ctx);
        reduce_all(cmd, ReduceOp::sum, tx, sum, workspace);
        reduce_all(cmd, ReduceOp::mean, tx, mean, workspace);
        reduce_all(cmd, ReduceOp::max, tx, max, workspace);
        squared_l2_norm(cmd, tx, norm, workspace);
        cmd.run();
        for (Tensor* t : {&sum, &mean, &max, &norm}) results[c].push_back(t->to_vector()[0]);
      }
      INFO("n=" << n << (std::isnan(x[0]) ? " (awkward values)" : "") << "; sum, mean, max, squared norm");
      // The sum's terms may cancel: its scale is Σ|x| (the mean's Σ|x| / n); the max is exact; the
      // squared norm's terms are all ≥ 0, so it is its own scale.
      double abs_sum = 0;
      for (float v : x) abs_sum += std::isfinite(v) ? std::fabs(double(v)) : 0.0;
      CHECK(texel_differences(results[0], results[1], {abs_sum, abs_sum / double(n), 0.0, 0.0}) == "");
    }
  }
}

TEST_CASE("texel loads: weight and activity penalties agree with storage-buffer loads", "[optim][penalty][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  for (int kind = 0; kind < 3; ++kind) {
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul, (1ul << 20) + 1}) {
      const auto w = awkward(n, 13 * n), g = awkward(n, 13 * n + 1);
      INFO((kind == 0 ? "l1" : kind == 1 ? "l2" : "l1 activity") << " n=" << n);
      CHECK(texel_vs_storage(
                p,
                [&](Context& ctx) {
                  Tensor tw = Tensor::from(ctx, {n}, w), tg = Tensor::from(ctx, {n}, g);
                  CommandList cmd(ctx);
                  if (kind == 0) l1_penalty_accumulate(cmd, tw, tg, 0.25f);
                  if (kind == 1) l2_penalty_accumulate(cmd, tw, tg, 0.25f);
                  if (kind == 2) l1_activity_penalty_accumulate(cmd, tw, tg, 1e-3f);
                  cmd.run();
                  return tg.to_vector();
                },
                largest({&w, &g})) == "");
    }
  }
}

TEST_CASE("texel loads: clip_grad_norm agrees with storage-buffer loads", "[optim][clip][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  // Several tensors per call (their partial sums side by side in the workspace), every n % 4 tail,
  // finite gradients (a real clip) and the awkward ones (NaN decides the total).
  const std::vector<std::vector<std::size_t>> size_sets = {{1},      {2, 3},          {5, 7, 4},
                                                           {257, 1}, {65539, 255, 6}, {(1ul << 20) + 1, 13}};
  for (const auto& sizes : size_sets) {
    for (bool finite : {true, false}) {
      std::vector<std::vector<float>> inputs;
      for (std::size_t n : sizes) inputs.push_back(finite ? uniform(n, -1.0f, 1.0f, 17 * n) : awkward(n, 17 * n));
      INFO(sizes.size() << " tensors, first " << sizes[0] << (finite ? "" : " (awkward values)")
                        << "; total norm, then the clipped gradients");
      // The total is a sum of squares (its own scale); each clipped gradient is g times a factor ≤ 1.
      std::vector<double> scale = {0.0};
      for (const auto& v : inputs) {
        const auto s = largest({&v});
        scale.insert(scale.end(), s.begin(), s.end());
      }
      CHECK(texel_vs_storage(
                p,
                [&](Context& ctx) {
                  std::vector<Tensor> grads;
                  for (const auto& v : inputs) grads.push_back(Tensor::from(ctx, {v.size()}, v));
                  std::vector<Tensor*> ptrs;
                  for (auto& t : grads) ptrs.push_back(&t);
                  CommandList cmd(ctx);
                  Tensor total(ctx, {1}), workspace(ctx, {clip_grad_norm_workspace_size(cmd, ptrs)});
                  clip_grad_norm(cmd, ptrs, 0.5f, total, workspace);
                  cmd.run();
                  std::vector<float> out = total.to_vector();
                  for (const auto& t : grads) append(out, t);
                  return out;
                },
                scale) == "");
    }
  }
}

TEST_CASE("texel loads: prelu backward agrees with storage-buffer loads", "[activation][prelu][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  struct Case {
    Shape shape;
    uint64_t channels;
  };
  // Shared slope, channels wrapping inside a vec4 (3), inner blocks crossing vec4s (35), the vec4
  // slope-gradient path (512), and n % 4 tails.
  const Case cases[] = {{{1}, 1},          {{257}, 1},        {{(1u << 20) + 1}, 1}, {{7, 3}, 3}, {{4, 17, 5, 7}, 17},
                        {{128, 255}, 255}, {{128, 512}, 512}, {{33, 20}, 20}};
  for (const Case& cs : cases) {
    const std::size_t n = cs.shape.numel();
    const auto x = awkward(n, 19 * n), dy = awkward(n, 19 * n + 1), w = uniform(cs.channels, -0.5f, 1.0f, 19 * n + 2);
    INFO("shape " << cs.shape.to_string() << ", " << cs.channels << " slopes; dx, then dweight");
    // dweight[c] sums x·dy over the channel's elements with x ≤ 0; the terms may cancel.
    const std::size_t inner = cs.channels == 1 ? 1 : n / (cs.shape[0] * cs.channels);
    std::vector<double> dw_scale(cs.channels, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      if (!(x[i] > 0) && std::isfinite(x[i]) && std::isfinite(dy[i]))
        dw_scale[(i / inner) % cs.channels] += std::fabs(double(x[i]) * dy[i]);
    }
    CHECK(texel_vs_storage(
              p,
              [&](Context& ctx) {
                Tensor tx = Tensor::from(ctx, cs.shape, x), tdy = Tensor::from(ctx, cs.shape, dy);
                Tensor tw = Tensor::from(ctx, {cs.channels}, w), dx(ctx, cs.shape), dw(ctx, {cs.channels});
                CommandList cmd(ctx);
                prelu_backward(cmd, tx, tw, tdy, dx, dw);
                cmd.run();
                std::vector<float> out = dx.to_vector();
                append(out, dw);
                return out;
              },
              joined({largest({&x, &dy}), dw_scale})) == "");
  }
}

TEST_CASE("texel loads: column reductions agree with storage-buffer loads", "[reduce][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  struct Dims {
    uint64_t rows, cols;
  };
  for (const Dims d : {Dims{1, 4}, Dims{5, 12}, Dims{129, 512}, Dims{7, 13}, Dims{3, 1031}}) {
    const auto x = awkward(d.rows * d.cols, 23 * d.cols + d.rows);
    INFO("(" << d.rows << ", " << d.cols << "); sum, mean, max");
    // Each column's sum may cancel: its scale is the column's Σ|x| (the mean's Σ|x| / rows); max is exact.
    std::vector<double> abs_sum(d.cols, 0.0), abs_mean(d.cols), exact(d.cols, 0.0);
    for (std::size_t i = 0; i < x.size(); ++i)
      abs_sum[i % d.cols] += std::isfinite(x[i]) ? std::fabs(double(x[i])) : 0.0;
    for (std::size_t c = 0; c < d.cols; ++c) abs_mean[c] = abs_sum[c] / double(d.rows);
    CHECK(texel_vs_storage(
              p,
              [&](Context& ctx) {
                Tensor tx = Tensor::from(ctx, {d.rows, d.cols}, x);
                std::vector<float> out;
                for (const auto op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
                  Tensor r(ctx, {d.cols});
                  CommandList cmd(ctx);
                  reduce_columns(cmd, op, tx, r);
                  cmd.run();
                  append(out, r);
                }
                return out;
              },
              joined({abs_sum, abs_mean, exact})) == "");
  }
}

TEST_CASE("texel loads: random initializers agree with storage-buffer stores", "[init][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul}) {
    INFO("n=" << n << "; uniform, then normal");
    std::vector<float> results[2];
    Context* ctxs[2] = {&p.texel, &p.plain};
    for (int c = 0; c < 2; ++c) {
      Context& ctx = *ctxs[c];
      Tensor u(ctx, {n}), g(ctx, {n});
      CommandList cmd(ctx);
      init_uniform(cmd, u, -2.0f, 3.0f, 29 + n);
      init_normal(cmd, g, 1.0f, 2.0f, 31 + n);
      cmd.run();
      results[c] = u.to_vector();
      append(results[c], g);
    }
    // The terms: lo and (hi − lo)·r for the uniform values, mean and std·z (= value − mean) for the
    // normal ones.
    std::vector<double> scale(2 * n, 2.0 + 5.0);
    for (std::size_t i = n; i < 2 * n; ++i) scale[i] = 1.0 + std::fabs(double(results[1][i]) - 1.0);
    CHECK(texel_differences(results[0], results[1], scale) == "");
  }
}

}  // namespace
}  // namespace vkgrad::test
