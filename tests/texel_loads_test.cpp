// The texel-load shader variants (shaders/texel_io.glsl: inputs through uniform texel buffers,
// outputs as 64-bit words; the cpu kernel set's) against the storage-buffer variants: the
// same bits for every activation, prelu backward, random initializer, GEMM path, optimizer update,
// penalty, gradient clipping, dropout, pointwise loss, whole-tensor and column reduction, with
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

namespace vkgrad::test {
namespace {

// "" when a and b hold the same bits wherever they are not both NaN (the sign and payload of a NaN
// that arithmetic produced are unspecified by IEEE 754 and differ between the two compiled
// variants), else the count of differing elements and the first one.
std::string bit_differences(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return "sizes differ";
  std::size_t count = 0, first = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && count++ == 0) first = i;
  }
  if (count == 0) return "";
  uint32_t x, y;
  std::memcpy(&x, &a[first], 4);
  std::memcpy(&y, &b[first], 4);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu of %zu elements differ; first at [%zu]: %.9g (0x%08x) vs %.9g (0x%08x)", count,
                a.size(), first, double(a[first]), x, double(b[first]), y);
  return buf;
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

// bit_differences between what `run` (Context& -> std::vector<float>, the outputs to compare)
// gives on the texel-load context and on the storage-buffer one.
template <class F>
std::string texel_vs_storage(Pair& p, F&& run) {
  const std::vector<float> texel = run(p.texel);
  return bit_differences(texel, run(p.plain));
}

// Appends t's elements to v.
void append(std::vector<float>& v, const Tensor& t) {
  const auto e = t.to_vector();
  v.insert(v.end(), e.begin(), e.end());
}

TEST_CASE("texel loads: activations give the same bits as storage-buffer loads", "[activation][texel]") {
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
      CHECK(bit_differences(results[0][0], results[1][0]) == "");
      CHECK(bit_differences(results[0][1], results[1][1]) == "");
    }
  }
}

TEST_CASE("texel loads: every GEMM path gives the same bits as storage-buffer loads", "[gemm][texel]") {
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
                    << " path=" << (path == GemmPath::direct ? "direct" : "broadcast"));
          CHECK(bit_differences(results[0], results[1]) == "");
        }
      }
    }
  }
}

TEST_CASE("texel loads: optimizer updates give the same bits as storage-buffer loads", "[optim][texel]") {
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
      CHECK(bit_differences(results[0][0], results[1][0]) == "");
      CHECK(bit_differences(results[0][1], results[1][1]) == "");
      CHECK(bit_differences(results[0][2], results[1][2]) == "");
    }
  }
}

TEST_CASE("texel loads: dropout gives the same bits as storage-buffer loads", "[dropout][texel]") {
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
      CHECK(bit_differences(results[0], results[1]) == "");
    }
  }
}

TEST_CASE("texel loads: pointwise losses give the same bits as storage-buffer loads", "[loss][texel]") {
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
      CHECK(bit_differences(results[0][0], results[1][0]) == "");
      CHECK(bit_differences(results[0][1], results[1][1]) == "");
    }
  }
}

TEST_CASE("texel loads: whole-tensor reductions give the same bits as storage-buffer loads", "[reduce][texel]") {
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
      CHECK(bit_differences(results[0], results[1]) == "");
    }
  }
}

TEST_CASE("texel loads: weight and activity penalties give the same bits as storage-buffer loads",
          "[optim][penalty][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  for (int kind = 0; kind < 3; ++kind) {
    for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul, (1ul << 20) + 1}) {
      const auto w = awkward(n, 13 * n), g = awkward(n, 13 * n + 1);
      INFO((kind == 0 ? "l1" : kind == 1 ? "l2" : "l1 activity") << " n=" << n);
      CHECK(texel_vs_storage(p, [&](Context& ctx) {
              Tensor tw = Tensor::from(ctx, {n}, w), tg = Tensor::from(ctx, {n}, g);
              CommandList cmd(ctx);
              if (kind == 0) l1_penalty_accumulate(cmd, tw, tg, 0.25f);
              if (kind == 1) l2_penalty_accumulate(cmd, tw, tg, 0.25f);
              if (kind == 2) l1_activity_penalty_accumulate(cmd, tw, tg, 1e-3f);
              cmd.run();
              return tg.to_vector();
            }) == "");
    }
  }
}

TEST_CASE("texel loads: clip_grad_norm gives the same bits as storage-buffer loads", "[optim][clip][texel]") {
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
      CHECK(texel_vs_storage(p, [&](Context& ctx) {
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
            }) == "");
    }
  }
}

TEST_CASE("texel loads: prelu backward gives the same bits as storage-buffer loads", "[activation][prelu][texel]") {
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
    CHECK(texel_vs_storage(p, [&](Context& ctx) {
            Tensor tx = Tensor::from(ctx, cs.shape, x), tdy = Tensor::from(ctx, cs.shape, dy);
            Tensor tw = Tensor::from(ctx, {cs.channels}, w), dx(ctx, cs.shape), dw(ctx, {cs.channels});
            CommandList cmd(ctx);
            prelu_backward(cmd, tx, tw, tdy, dx, dw);
            cmd.run();
            std::vector<float> out = dx.to_vector();
            append(out, dw);
            return out;
          }) == "");
  }
}

TEST_CASE("texel loads: column reductions give the same bits as storage-buffer loads", "[reduce][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  struct Dims {
    uint64_t rows, cols;
  };
  for (const Dims d : {Dims{1, 4}, Dims{5, 12}, Dims{129, 512}, Dims{7, 13}, Dims{3, 1031}}) {
    const auto x = awkward(d.rows * d.cols, 23 * d.cols + d.rows);
    INFO("(" << d.rows << ", " << d.cols << "); sum, mean, max");
    CHECK(texel_vs_storage(p, [&](Context& ctx) {
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
          }) == "");
  }
}

TEST_CASE("texel loads: random initializers give the same bits as storage-buffer stores", "[init][texel]") {
  Pair p;
  if (!texel_capable(p)) return;
  for (std::size_t n : {1ul, 2ul, 3ul, 4ul, 5ul, 7ul, 257ul, 65539ul}) {
    INFO("n=" << n << "; uniform, then normal");
    CHECK(texel_vs_storage(p, [&](Context& ctx) {
            Tensor u(ctx, {n}), g(ctx, {n});
            CommandList cmd(ctx);
            init_uniform(cmd, u, -2.0f, 3.0f, 29 + n);
            init_normal(cmd, g, 1.0f, 2.0f, 31 + n);
            cmd.run();
            std::vector<float> out = u.to_vector();
            append(out, g);
            return out;
          }) == "");
  }
}

}  // namespace
}  // namespace vkgrad::test
