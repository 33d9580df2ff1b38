// SGD, Adam, AdamW and global-norm gradient clipping against the double reference over several
// steps, recorded once and replayed (the step counter advances on the device).
#include <catch2/catch.hpp>
#include <optional>
#include <sstream>

#include "harness.hpp"
#include "reference/optim_ref.hpp"
#include "vkgrad/optim.hpp"

namespace vkgrad::test {
namespace {

constexpr int kSteps = 5;

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Gradients for step `step`: uniform in [-1, 1), with zeros, ±1e4 and (optionally) a NaN planted.
std::vector<float> gradient(std::size_t n, uint64_t seed, int step, bool with_nan) {
  auto g = uniform(n, -1.0f, 1.0f, seed * 100 + step);
  const float specials[] = {0.0f, -0.0f, 1e4f, -1e4f, 1e-40f};
  for (std::size_t i = 0; i < std::size(specials) && i * 13 + 5 < n; ++i) g[i * 13 + 5] = specials[i];
  if (with_nan && n > 100) g[100] = std::numeric_limits<float>::quiet_NaN();
  return g;
}

// Float32 multi-step tolerance: the library default 1e-6 + 1e-5·|ref|. Each step rounds a handful
// of times (decay, momentum, update), each rounding <= 2^-24 relative to the values involved
// (|p|, |buf|, lr·|d| <= ~2 for ordinary elements), and the errors add over the 5 steps: about
// 8 × 5 × 2^-24 ≈ 2.4e-6 relative to that magnitude in the worst case, ~1e-7 typically (random
// signs). Measured on lavapipe: every element within 1e-6 + 1e-6·|ref|, and some outside
// 1e-7 + 1e-7·|ref|, so this bound has a ~10× margin on |ref| and still catches a 2e-5 relative
// error in any term (checked by mutating the shaders).
constexpr double kRtol = 1e-5, kAtol = 1e-6;

void check_sgd(std::size_t n, SgdOptions o, uint64_t seed) {
  Context& ctx = context();
  const auto p0 = uniform(n, -1.0f, 1.0f, seed);
  Tensor p = Tensor::from(ctx, {n}, p0), g(ctx, {n});
  SgdState state(ctx, p);
  Tensor step = make_step_counter(ctx);
  CommandList cmd(ctx);
  optimizer_advance_step(cmd, step);
  sgd_update(cmd, o, p, g, state, step);

  std::vector<double> p_ref = to_double(p0), buf_ref(n, 0.0);
  for (int t = 1; t <= kSteps; ++t) {
    const auto grad = gradient(n, seed, t, seed % 2 == 0);
    g.upload(std::span<const float>(grad));
    cmd.run();  // replayed: the same recorded list every step
    require_no_validation_messages();
    ref::sgd_step(p_ref, to_double(grad), buf_ref, t, o.lr, o.momentum, o.dampening, o.nesterov, o.weight_decay);
    INFO("n " << n << ", lr " << o.lr << ", momentum " << o.momentum << ", dampening " << o.dampening << ", nesterov "
              << o.nesterov << ", weight_decay " << o.weight_decay << ", step " << t);
    const auto pm = compare(p.to_vector(), p_ref, kRtol, kAtol);
    INFO("param: " << pm.count << " mismatches, worst [" << pm.worst_index << "] got " << pm.got << " expected "
                   << pm.expected);
    CHECK(pm.count == 0);
    if (o.momentum != 0) {
      const auto bm = compare(state.momentum_buffer.to_vector(), buf_ref, kRtol, kAtol);
      INFO("momentum_buffer: " << bm.count << " mismatches, worst [" << bm.worst_index << "] got " << bm.got
                               << " expected " << bm.expected);
      CHECK(bm.count == 0);
    }
  }
  CHECK(step.to_vector<int32_t>()[0] == kSteps);
}

// from_zero: the parameters start at 0, so p is the sum of the updates and is compared with a
// tolerance relative to lr: that checks the update itself (bias corrections, eps) to ~1e-5, which
// the rounding of |p| ~ 1 would otherwise hide.
void check_adam(std::size_t n, AdamOptions o, uint64_t seed, bool from_zero = false) {
  Context& ctx = context();
  const auto p0 = from_zero ? std::vector<float>(n, 0.0f) : uniform(n, -1.0f, 1.0f, seed);
  const double atol = from_zero ? kAtol * o.lr : kAtol;
  Tensor p = Tensor::from(ctx, {n}, p0), g(ctx, {n});
  AdamState state(ctx, p);
  Tensor step = make_step_counter(ctx);
  CommandList cmd(ctx);
  optimizer_advance_step(cmd, step);
  adam_update(cmd, o, p, g, state, step);

  std::vector<double> p_ref = to_double(p0), m_ref(n, 0.0), v_ref(n, 0.0);
  for (int t = 1; t <= kSteps; ++t) {
    const auto grad = gradient(n, seed, t, seed % 2 == 0);
    g.upload(std::span<const float>(grad));
    cmd.run();
    require_no_validation_messages();
    ref::adam_step(p_ref, to_double(grad), m_ref, v_ref, t, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.decoupled);
    INFO("n " << n << (o.decoupled ? ", AdamW" : ", Adam") << ", lr " << o.lr << ", weight_decay " << o.weight_decay
              << ", step " << t);
    // Adam's update is lr·m̂/(√v̂ + eps), a ratio of O(1) computed to a few ulp, times lr: its error
    // is far below the rounding of p itself, so the SGD bound (a few roundings of |p| per step)
    // holds; m and v are plain exponential averages, a few roundings of |g| or g² per step.
    const auto pm = compare(p.to_vector(), p_ref, kRtol, atol);
    INFO("param: " << pm.count << " mismatches, worst [" << pm.worst_index << "] got " << pm.got << " expected "
                   << pm.expected);
    CHECK(pm.count == 0);
    const auto mm = compare(state.exp_avg.to_vector(), m_ref, kRtol, kAtol);
    INFO("exp_avg: " << mm.count << " mismatches, worst [" << mm.worst_index << "] got " << mm.got);
    CHECK(mm.count == 0);
    const auto vm = compare(state.exp_avg_sq.to_vector(), v_ref, kRtol, kAtol);
    INFO("exp_avg_sq: " << vm.count << " mismatches, worst [" << vm.worst_index << "] got " << vm.got);
    CHECK(vm.count == 0);
  }
}

SgdOptions sgd(float lr, float momentum, float dampening, bool nesterov, float weight_decay) {
  SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.dampening = dampening;
  o.nesterov = nesterov;
  o.weight_decay = weight_decay;
  return o;
}

}  // namespace

TEST_CASE("sgd matches the reference over several replayed steps", "[optim][sgd]") {
  const std::size_t sizes[] = {1, 257};
  uint64_t seed = 1;
  for (std::size_t n : sizes) {
    check_sgd(n, sgd(0.1f, 0.0f, 0.0f, false, 0.0f), seed++);
    check_sgd(n, sgd(0.1f, 0.0f, 0.0f, false, 0.01f), seed++);
    check_sgd(n, sgd(0.05f, 0.9f, 0.0f, false, 0.0f), seed++);
    check_sgd(n, sgd(0.05f, 0.9f, 0.1f, false, 1e-3f), seed++);
    check_sgd(n, sgd(0.05f, 0.9f, 0.0f, true, 0.0f), seed++);
    check_sgd(n, sgd(0.05f, 0.9f, 0.0f, true, 5e-4f), seed++);
  }
  check_sgd((1u << 20) + 3, sgd(0.05f, 0.9f, 0.0f, true, 1e-3f), 42);
}

TEST_CASE("adam and adamw match the reference over several replayed steps", "[optim][adam]") {
  const std::size_t sizes[] = {1, 257};
  uint64_t seed = 100;
  for (std::size_t n : sizes) {
    check_adam(n, AdamOptions{}, seed++);
    AdamOptions adam_wd;
    adam_wd.weight_decay = 0.01f;
    check_adam(n, adam_wd, seed++);
    AdamOptions adamw = adamw_options();
    adamw.lr = 1e-2f;
    check_adam(n, adamw, seed++);
    AdamOptions betas;
    betas.beta1 = 0.5f;
    betas.beta2 = 0.9f;
    betas.eps = 1e-6f;
    check_adam(n, betas, seed++);
    check_adam(n, AdamOptions{}, seed++, true);
    check_adam(n, adamw_options(), seed++, true);
  }
  check_adam((1u << 20) + 3, adamw_options(), 142);
}

TEST_CASE("the Sgd and Adam classes step several parameters with one shared counter", "[optim]") {
  Context& ctx = context();
  const std::size_t sizes[] = {1, 257, 7};
  for (int adam = 0; adam < 2; ++adam) {
    std::vector<Tensor> params, grads;
    std::vector<std::vector<double>> p_ref, s1_ref, s2_ref;
    std::vector<ParamRef> refs;
    for (std::size_t k = 0; k < std::size(sizes); ++k) {
      const auto p0 = uniform(sizes[k], -1.0f, 1.0f, 500 + k);
      params.push_back(Tensor::from(ctx, {sizes[k]}, p0));
      grads.emplace_back(ctx, Shape{sizes[k]});
      p_ref.push_back(to_double(p0));
      s1_ref.emplace_back(sizes[k], 0.0);
      s2_ref.emplace_back(sizes[k], 0.0);
    }
    for (std::size_t k = 0; k < params.size(); ++k) refs.push_back({&params[k], &grads[k]});
    const SgdOptions so = sgd(0.05f, 0.9f, 0.0f, true, 1e-3f);
    const AdamOptions ao = adamw_options();
    std::optional<Sgd> sgd_opt;
    std::optional<Adam> adam_opt;
    CommandList cmd(ctx);
    if (adam) {
      adam_opt.emplace(ctx, refs, ao);
      adam_opt->record_step(cmd);
    } else {
      sgd_opt.emplace(ctx, refs, so);
      sgd_opt->record_step(cmd);
    }
    for (int t = 1; t <= 3; ++t) {
      for (std::size_t k = 0; k < params.size(); ++k) {
        const auto g = gradient(sizes[k], 600 + k, t, false);
        grads[k].upload(std::span<const float>(g));
        if (adam) {
          ref::adam_step(p_ref[k], to_double(g), s1_ref[k], s2_ref[k], t, ao.lr, ao.beta1, ao.beta2, ao.eps,
                         ao.weight_decay, true);
        } else {
          ref::sgd_step(p_ref[k], to_double(g), s1_ref[k], t, so.lr, so.momentum, so.dampening, so.nesterov,
                        so.weight_decay);
        }
      }
      cmd.run();
      require_no_validation_messages();
      for (std::size_t k = 0; k < params.size(); ++k) {
        INFO((adam ? "AdamW" : "SGD") << ", parameter " << k << ", step " << t);
        CHECK(compare(params[k].to_vector(), p_ref[k], kRtol, kAtol).count == 0);
      }
    }
    CHECK((adam ? adam_opt->step_count() : sgd_opt->step_count()).to_vector<int32_t>()[0] == 3);
  }
}

TEST_CASE("optimizers refuse mismatched state and a bad step counter", "[optim]") {
  Context& ctx = context();
  Tensor p(ctx, {8}), g(ctx, {7}), step = make_step_counter(ctx), bad_step(ctx, {1});
  SgdState s(ctx, p);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(sgd_update(cmd, SgdOptions{}, p, g, s, step), Catch::Contains("[8]") && Catch::Contains("[7]"));
  Tensor g8(ctx, {8});
  CHECK_THROWS_WITH(sgd_update(cmd, SgdOptions{}, p, g8, s, bad_step), Catch::Contains("step counter"));
  CHECK_THROWS_WITH(sgd_update(cmd, sgd(0.1f, 0.0f, 0.0f, true, 0.0f), p, g8, s, step), Catch::Contains("nesterov"));
}

TEST_CASE("clip_grad_norm matches the reference and keeps the norm on the device", "[optim][clip]") {
  Context& ctx = context();
  struct Case {
    std::vector<std::size_t> sizes;
    float max_norm;
  };
  const Case cases[] = {{{1}, 0.5f}, {{257, 7, 1}, 1.0f}, {{255, 1031}, 1e3f}, {{(1u << 20) + 3, 13}, 10.0f}};
  uint64_t seed = 7;
  for (const auto& cs : cases) {
    std::vector<Tensor> grads;
    std::vector<std::vector<double>> ref_grads;
    for (std::size_t n : cs.sizes) {
      const auto v = uniform(n, -1.0f, 1.0f, seed++);
      grads.push_back(Tensor::from(ctx, {n}, v));
      ref_grads.push_back(to_double(v));
    }
    std::vector<Tensor*> ptrs;
    for (auto& t : grads) ptrs.push_back(&t);
    CommandList cmd(ctx);
    Tensor total(ctx, {1}), workspace(ctx, {clip_grad_norm_workspace_size(cmd, ptrs)});
    total.fill(poison);
    workspace.fill(poison);
    clip_grad_norm(cmd, ptrs, cs.max_norm, total, workspace);
    cmd.run();
    require_no_validation_messages();
    // The squared norm is a sum of positive terms, so float32 tree/Kahan summation is accurate to
    // ~log2(n)·2^-24 relative (n <= 2^21): 1e-5 relative is ample; the scaled gradients add one
    // rounding of the coefficient and one of the product.
    const double total_ref = ref::clip_grad_norm(ref_grads, cs.max_norm);
    INFO("sizes " << cs.sizes.size() << " tensors, first " << cs.sizes[0] << ", max_norm " << cs.max_norm);
    CHECK(close(total.to_vector()[0], total_ref, 1e-5, 1e-7));
    for (std::size_t k = 0; k < grads.size(); ++k) {
      const auto m = compare(grads[k].to_vector(), ref_grads[k], 1e-5, 1e-7);
      INFO("tensor " << k << ": " << m.count << " mismatches, worst [" << m.worst_index << "] got " << m.got
                     << " expected " << m.expected);
      CHECK(m.count == 0);
    }
  }
}

TEST_CASE("clip_grad_norm handles NaN and inf gradients as PyTorch and is deterministic", "[optim][clip]") {
  Context& ctx = context();
  auto v = uniform(3001, -1.0f, 1.0f, 99);
  Tensor a = Tensor::from(ctx, {3001}, v);
  std::vector<Tensor*> ptrs{&a};
  CommandList cmd(ctx);
  Tensor total(ctx, {1}), workspace(ctx, {clip_grad_norm_workspace_size(cmd, ptrs)});
  clip_grad_norm(cmd, ptrs, 0.1f, total, workspace);
  cmd.run();
  const float first = total.to_vector()[0];
  a.upload(std::span<const float>(v));
  cmd.run();
  CHECK(total.to_vector()[0] == first);  // bitwise the same total on a replay
  v[1234] = std::numeric_limits<float>::quiet_NaN();
  a.upload(std::span<const float>(v));
  cmd.run();
  require_no_validation_messages();
  CHECK(std::isnan(total.to_vector()[0]));
  CHECK(std::isnan(a.to_vector()[0]));
  // An inf gradient: total inf, coefficient max_norm / inf = 0, so finite elements become 0 and
  // the inf one inf·0 = NaN (what torch.nn.utils.clip_grad_norm_ does).
  v[1234] = std::numeric_limits<float>::infinity();
  a.upload(std::span<const float>(v));
  cmd.run();
  require_no_validation_messages();
  CHECK(std::isinf(total.to_vector()[0]));
  const auto clipped = a.to_vector();
  CHECK(clipped[0] == 0.0f);
  CHECK(std::isnan(clipped[1234]));
}

}  // namespace vkgrad::test
