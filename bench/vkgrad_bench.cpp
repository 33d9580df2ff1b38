// vkgrad's benchmark suite: every op's GPU time from timestamps, as GB/s, next to the device's
// buffer-copy bandwidth measured in the same run, alternately with each op (the ceiling for
// elementwise ops). The whole-model modes that run instead of the op table (--training-step,
// --inference-memory) are in vkgrad_bench_models.cpp.
//
//   vkgrad_bench [--elements N] [--repeat R] [--filter SUBSTRING] [--gemm-square 256,512] [--json FILE]
//                [--gemm-path auto|tiled|direct|broadcast] [--reductions auto|subgroup|portable]
//                [--reduction-layout auto|workgroup|invocation] [--texel-loads auto|on|off] [--training-step]
//                [--inference-memory]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <vkgrad/vkgrad.hpp>

#include "gemm_tiles.hpp"  // internal: to force a GEMM path
#include "vkgrad_bench_models.hpp"

namespace {

struct Entry {
  std::string name;
  double bytes;  ///< bytes read + written by one run (GB/s is reported when > 0)
  std::function<void(vkgrad::CommandList&)> record;
  double flops = 0;  ///< floating-point operations of one run (GFLOP/s is reported when > 0)
};

// GPU time of one run of `entry`: the median over `repeat` runs recorded into one list (each
// ordered after the previous by the hazard on its output); a run that is several dispatches is the
// sum of its dispatches' times. With a `peer`, the list alternates a peer run and an entry run, and
// the peer's median comes back too: both are timed in the same seconds, so a host whose speed
// drifts during the suite (a shared or throttled CPU) moves both sides of the ratio alike.
struct Timing {
  double ms = 0;
  double peer_ms = 0;
};

Timing median_ms(vkgrad::Context& ctx, const Entry& entry, int repeat, const Entry* peer = nullptr) {
  auto dispatches = [&](const Entry& e) {
    vkgrad::CommandList probe(ctx);
    e.record(probe);
    return probe.dispatch_count();
  };
  const std::size_t per_run = dispatches(entry), per_peer = peer ? dispatches(*peer) : 0;
  vkgrad::CommandList cmd(ctx, vkgrad::CommandListOptions{}.set_timestamps(true));
  for (int i = 0; i < repeat; ++i) {
    if (peer) peer->record(cmd);
    entry.record(cmd);
  }
  cmd.run();  // warm-up: pipelines, caches
  cmd.run();
  const auto timings = cmd.timings();
  std::vector<double> ms, peer_ms;
  for (std::size_t at = 0; at + per_peer + per_run <= timings.size();) {
    auto sum = [&](std::size_t count) {
      double total = 0;
      for (std::size_t d = 0; d < count; ++d) total += timings[at++].milliseconds;
      return total;
    };
    if (peer) peer_ms.push_back(sum(per_peer));
    ms.push_back(sum(per_run));
  }
  auto median = [](std::vector<double>& v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(ms), median(peer_ms)};
}

// The host's copy bandwidth (bytes read + written per second) with every hardware thread copying a
// share of the buffer: the median over `repeat` copies (thread start-up included; a few tens of us
// against milliseconds). On a CPU device this is the machine's ceiling for elementwise ops, and a
// stricter peer than the device's copy: lavapipe runs vkCmdCopyBuffer as a memcpy on one thread
// while its compute dispatches use every core.
class HostCopy {
 public:
  explicit HostCopy(std::size_t bytes) : src_(bytes, 1), dst_(bytes, 0) {}  // written: no page faults when timed

  static unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

  double gbs(int repeat) {
    const std::size_t bytes = src_.size();
    std::vector<double> seconds;
    for (int r = 0; r <= repeat; ++r) {  // run 0 warms up
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < threads(); ++t) {
        pool.emplace_back([this, t, bytes] {
          const std::size_t begin = bytes * t / threads(), end = bytes * (t + 1) / threads();
          std::memcpy(dst_.data() + begin, src_.data() + begin, end - begin);
        });
      }
      for (auto& thread : pool) thread.join();
      if (r > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return 2.0 * double(bytes) / seconds[seconds.size() / 2] / 1e9;
  }

 private:
  std::vector<char> src_, dst_;
};

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("vkgrad benchmark suite: GPU time per op from timestamps, with the copy bandwidth as peer");
  uint64_t n = 1u << 22;
  int repeat = 20;
  std::string filter, json_path;
  std::vector<uint64_t> gemm_square = {256, 512};
  app.add_option("--elements,-n", n, "elements per tensor")->check(CLI::Range(uint64_t(1), uint64_t(1) << 30));
  app.add_option("--repeat,-r", repeat, "timed runs per op (median reported)")->check(CLI::Range(3, 10000));
  app.add_option("--filter,-f", filter, "only ops whose name contains this");
  app.add_option("--gemm-square", gemm_square, "square GEMM sizes to time (N for N x N x N)")->delimiter(',');
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  std::string gemm_path = "auto";
  app.add_option("--gemm-path", gemm_path,
                 "GEMM main loop: auto (the kernel set's: tiled for gpu, broadcast for cpu), tiled, direct, broadcast "
                 "(direct with "
                 "op(A) rows shared through subgroup broadcasts; falls back to direct where unsupported)")
      ->check(CLI::IsMember({"auto", "tiled", "direct", "broadcast"}))
      ->capture_default_str();
  bool step_breakdown = false;
  app.add_flag("--training-step", step_breakdown,
               "instead of the op table: one training step of the README's MNIST model (784-512-256-10, "
               "BatchNorm1d, ReLU, dropout 0.2, cross-entropy, Adam; batch 128), GPU time per dispatch kind");
  bool inference = false;
  app.add_flag("--inference-memory", inference,
               "instead of the op table: device memory held after inference (Sequential::predict, and forward in "
               "eval mode) over batch sizes 1..256 on a 784-256-128-10 model, against the largest batch alone; "
               "exits 1 when predict holds more than twice that");
  std::string reductions = "auto";
  app.add_option("--reductions", reductions,
                 "reduction shaders (softmax, losses, sums): auto (the kernel set's: subgroup variant for gpu where "
                 "supported, portable for cpu), subgroup (wherever supported), portable")
      ->check(CLI::IsMember({"auto", "subgroup", "portable"}))
      ->capture_default_str();
  std::string reduction_layout = "auto";
  app.add_option(
         "--reduction-layout", reduction_layout,
         "BatchNorm and cross-entropy: auto (the kernel set's: workgroup for gpu, invocation for cpu), workgroup "
         "(a workgroup per channel tile / row, shared-memory sums), invocation (an invocation per channel "
         "quad / row, no barriers)")
      ->check(CLI::IsMember({"auto", "workgroup", "invocation"}))
      ->capture_default_str();
  std::string texel_loads = "auto";
  app.add_option("--texel-loads", texel_loads,
                 "elementwise inputs through uniform texel buffers: auto (the kernel set's: off for gpu, on for cpu "
                 "where supported), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  vkgrad::ContextOptions options;
  if (texel_loads != "auto") options.set_texel_loads(texel_loads == "on");
  if (reduction_layout != "auto") {
    options.set_row_reductions(reduction_layout == "workgroup" ? vkgrad::RowReductions::workgroup
                                                               : vkgrad::RowReductions::per_invocation);
  }
  if (gemm_path != "auto") {
    options.set_gemm_path(gemm_path == "tiled"    ? vkgrad::GemmPath::tiled
                          : gemm_path == "direct" ? vkgrad::GemmPath::direct
                                                  : vkgrad::GemmPath::broadcast);
  }
  if (reductions != "auto") options.set_subgroup_reductions(reductions == "subgroup");
  vkgrad::Context ctx(options);
  const auto& dev = ctx.device();
  const auto& kernels = ctx.kernels();
  std::printf("kernels: %s (%s); texel loads %s, GEMM path %s, row reductions %s\n", vkgrad::to_string(kernels.set),
              kernels.reason.c_str(), kernels.texel_loads ? "on" : "off", vkgrad::to_string(kernels.gemm_path),
              vkgrad::to_string(kernels.row_reductions));
  std::printf("device: %s (%s), driver: %s %s\nelements: %llu, repeat: %d\nreductions: %s (subgroup size %u)\n\n",
              dev.name.c_str(), vkgrad::to_string(dev.type), dev.driver_name.c_str(), dev.driver_info.c_str(),
              static_cast<unsigned long long>(n), repeat, ctx.subgroup_reductions() ? "subgroup" : "portable",
              dev.subgroup_size);

  if (inference) return vkgrad_bench::inference_memory(ctx, json_path);  // a count of bytes: no timestamps needed
  if (!dev.timestamps) throw vkgrad::UnsupportedError(dev.name + " has no timestamp queries; cannot benchmark");
  if (step_breakdown) return vkgrad_bench::training_step_breakdown(ctx, repeat, json_path);

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
  auto random_vector = [&](uint64_t count) {
    std::vector<float> v(count);
    for (auto& e : v) e = dist(rng);
    return v;
  };
  const std::vector<float> host = random_vector(n);
  auto x = vkgrad::Tensor::from(ctx, {n}, host);
  auto dy = vkgrad::Tensor::from(ctx, {n}, host);
  vkgrad::Tensor y(ctx, {n});
  const double f32 = 4.0 * double(n);

  std::vector<Entry> entries;
  entries.push_back({"copy (peer: device memcpy)", 2 * f32, [&](vkgrad::CommandList& c) { c.copy(x, y); }});
  for (const auto& info : vkgrad::activations()) {
    const vkgrad::ActivationSpec act(info.kind);
    entries.push_back({std::string(info.name) + " forward", 2 * f32,
                       [&, act](vkgrad::CommandList& c) { vkgrad::activation_forward(c, act, x, y); }});
    entries.push_back({std::string(info.name) + " backward", 3 * f32,
                       [&, act](vkgrad::CommandList& c) { vkgrad::activation_backward(c, act, x, dy, y); }});
  }
  entries.push_back({"sparse(relu, 0.5) forward", 2 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::activation_forward(
                           c, vkgrad::ActivationSpec(vkgrad::Activation::relu).sparse_threshold(0.5f), x, y);
                     }});

  // Training ops at the README MLP's sizes (batch 128, 784-512-256-10) and GEMM at square sizes.
  const uint64_t batch = 128, features = 512;
  auto h = vkgrad::Tensor::from(ctx, {batch, features}, random_vector(batch * features));
  vkgrad::Tensor h_out(ctx, {batch, features}), h_grad(ctx, {batch, features});
  auto ones = vkgrad::Tensor::from(ctx, {features}, std::vector<float>(features, 1.0f));
  vkgrad::Tensor zeros_c(ctx, {features}), run_mean(ctx, {features}), run_var(ctx, {features});
  vkgrad::Tensor save_mean(ctx, {features}), save_invstd(ctx, {features}), dgamma(ctx, {features}),
      dbeta(ctx, {features});
  zeros_c.fill(0.0f);
  run_mean.fill(0.0f);
  run_var.fill(1.0f);
  const double bn_bytes = 2.0 * 4 * batch * features;
  entries.push_back({"batchnorm1d forward 128x512", bn_bytes, [&](vkgrad::CommandList& c) {
                       vkgrad::batchnorm_forward(c, h, ones, zeros_c, run_mean, run_var, save_mean, save_invstd, h_out);
                     }});
  entries.push_back({"batchnorm1d backward 128x512", 3.0 * 4 * batch * features, [&](vkgrad::CommandList& c) {
                       vkgrad::batchnorm_backward(c, h, h, save_mean, save_invstd, ones, h_grad, dgamma, dbeta);
                     }});
  // SyncBatchNorm's split passes (the host combination between them is not timed).
  vkgrad::Tensor bn_stats(ctx, {3, features}), bn_moments(ctx, {4, features}), bn_sums(ctx, {2, features});
  bn_moments.fill(0.5f);
  entries.push_back({"batchnorm statistics 128x512", 0.5 * bn_bytes,
                     [&](vkgrad::CommandList& c) { vkgrad::batchnorm_statistics(c, h, bn_stats); }});
  entries.push_back({"batchnorm normalize 128x512", bn_bytes, [&](vkgrad::CommandList& c) {
                       vkgrad::batchnorm_normalize(c, h, bn_moments, ones, zeros_c, run_mean, run_var, h_out);
                     }});
  entries.push_back({"batchnorm backward sums 128x512", bn_bytes,
                     [&](vkgrad::CommandList& c) { vkgrad::batchnorm_backward_sums(c, h, h, bn_moments, bn_sums); }});
  entries.push_back({"batchnorm backward apply 128x512", 1.5 * bn_bytes, [&](vkgrad::CommandList& c) {
                       vkgrad::batchnorm_backward_apply(c, h, h, bn_moments, bn_sums, bn_sums, batch, ones, h_grad,
                                                        dgamma, dbeta);
                     }});
  // f16 storage: 4 bytes read and 2 written per element, or the other way round.
  vkgrad::Tensor x16(ctx, {n}, vkgrad::DType::f16);
  x16.fill(0.5f);
  entries.push_back({"cast f32 -> f16", 1.5 * f32, [&](vkgrad::CommandList& c) { vkgrad::cast(c, x, x16); }});
  entries.push_back({"cast f16 -> f32", 1.5 * f32, [&](vkgrad::CommandList& c) { vkgrad::cast(c, x16, y); }});
  entries.push_back({"dropout(0.2) forward", 2 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::dropout_forward(c, x, y, vkgrad::DropoutOptions{}.set_p(0.2f).set_seed(7));
                     }});
  auto logits = vkgrad::Tensor::from(ctx, {batch, 10}, random_vector(batch * 10));
  std::vector<int32_t> label_host(batch);
  for (uint64_t i = 0; i < batch; ++i) label_host[i] = static_cast<int32_t>(i % 10);
  auto labels = vkgrad::Tensor::from<int32_t>(ctx, {batch}, label_host);
  vkgrad::Tensor loss(ctx, {1}), dlogits(ctx, {batch, 10}), probs(ctx, {batch, 10});
  vkgrad::CrossEntropyLoss ce(ctx, batch);
  entries.push_back({"softmax forward 128x10", 2.0 * 4 * batch * 10,
                     [&](vkgrad::CommandList& c) { vkgrad::softmax_forward(c, logits, probs); }});
  entries.push_back({"cross_entropy forward+backward 128x10", 3.0 * 4 * batch * 10, [&](vkgrad::CommandList& c) {
                       ce.forward(c, logits, labels, loss);
                       ce.backward(c, logits, labels, dlogits);
                     }});
  entries.push_back({"softmax backward 128x10", 3.0 * 4 * batch * 10,
                     [&](vkgrad::CommandList& c) { vkgrad::softmax_backward(c, probs, logits, dlogits); }});
  entries.push_back({"log_softmax forward 128x10", 2.0 * 4 * batch * 10,
                     [&](vkgrad::CommandList& c) { vkgrad::log_softmax_forward(c, logits, probs); }});
  entries.push_back({"log_softmax backward 128x10", 3.0 * 4 * batch * 10,
                     [&](vkgrad::CommandList& c) { vkgrad::log_softmax_backward(c, probs, logits, dlogits); }});
  vkgrad::NllLoss nll(ctx, batch);
  entries.push_back({"nll forward+backward 128x10", 3.0 * 4 * batch * 10, [&](vkgrad::CommandList& c) {
                       nll.forward(c, probs, labels, loss);
                       nll.backward(c, probs, labels, dlogits);
                     }});
  std::vector<std::unique_ptr<vkgrad::PointwiseLoss>> pointwise;
  for (auto kind : {vkgrad::PointwiseLossKind::mse, vkgrad::PointwiseLossKind::bce_with_logits,
                    vkgrad::PointwiseLossKind::l1, vkgrad::PointwiseLossKind::smooth_l1}) {
    vkgrad::PointwiseLoss& fn = *pointwise.emplace_back(std::make_unique<vkgrad::PointwiseLoss>(ctx, kind, n));
    entries.push_back(
        {std::string(vkgrad::to_string(kind)) + " forward+backward", 5 * f32, [&, fn = &fn](vkgrad::CommandList& c) {
           fn->forward(c, x, dy, loss);
           fn->backward(c, x, dy, y);
         }});
  }
  vkgrad::Tensor value_totals(ctx, {8});
  value_totals.fill(0.0f);
  entries.push_back({"accumulate_value_metrics 128x10", 2.0 * 4 * batch * 10, [&](vkgrad::CommandList& c) {
                       vkgrad::accumulate_value_metrics(c, loss, logits, probs, value_totals);
                     }});
  vkgrad::Tensor row_out(ctx, {batch}), col_out(ctx, {features});
  vkgrad::Tensor argmax_out(ctx, {batch}, vkgrad::DType::i32);
  entries.push_back({"sum over rows 128x512", 4.0 * batch * features,
                     [&](vkgrad::CommandList& c) { vkgrad::reduce_rows(c, vkgrad::ReduceOp::sum, h, row_out); }});
  entries.push_back({"sum over columns 128x512", 4.0 * batch * features,
                     [&](vkgrad::CommandList& c) { vkgrad::reduce_columns(c, vkgrad::ReduceOp::sum, h, col_out); }});
  entries.push_back({"argmax rows 128x10", 4.0 * batch * 10,
                     [&](vkgrad::CommandList& c) { vkgrad::argmax_rows(c, logits, argmax_out); }});
  vkgrad::Tensor hot(ctx, {batch, 10});
  entries.push_back(
      {"one_hot 128x10", 4.0 * batch * 11, [&](vkgrad::CommandList& c) { vkgrad::one_hot(c, labels, hot); }});
  // Linear layer 784 -> 512 at batch 128, forward with the fused ReLU and backward.
  auto lin_x = vkgrad::Tensor::from(ctx, {batch, 784}, random_vector(batch * 784));
  auto lin_w = vkgrad::Tensor::from(ctx, {512, 784}, random_vector(512 * 784));
  vkgrad::Tensor lin_b(ctx, {512}), lin_y(ctx, {batch, 512}), lin_dx(ctx, {batch, 784}), lin_dw(ctx, {512, 784}),
      lin_db(ctx, {512});
  lin_b.fill(0.0f);
  const double lin_flops = 2.0 * batch * 512 * 784;
  entries.push_back(
      {"linear 784->512 forward + relu (fused)", 0,
       [&](vkgrad::CommandList& c) { vkgrad::linear_forward(c, lin_x, lin_w, lin_b, lin_y, vkgrad::Activation::relu); },
       lin_flops});
  entries.push_back(
      {"linear 784->512 backward (dX, dW, db)", 0,
       [&](vkgrad::CommandList& c) { vkgrad::linear_backward(c, lin_x, lin_w, lin_y, lin_dx, lin_dw, lin_db); },
       2 * lin_flops});
  // The forward over the same weight with 9 in 10 entries zeroed, in CSR (vkgrad-sparse-bench
  // sweeps the sparsities, batches and layers); GFLOP/s counts the stored multiply-adds.
  std::vector<float> lin_w_pruned = random_vector(512 * 784);
  for (std::size_t i = 0; i < lin_w_pruned.size(); ++i) lin_w_pruned[i] = i % 10 == 3 ? lin_w_pruned[i] : 0.0f;
  const auto lin_ws = vkgrad::SparseMatrix::from_host(ctx, 512, 784, lin_w_pruned);
  entries.push_back({"sparse linear 784->512 fwd + relu, 90%", 0,
                     [&](vkgrad::CommandList& c) {
                       vkgrad::sparse_linear_forward(c, lin_x, lin_ws, lin_b, lin_y, vkgrad::Activation::relu);
                     },
                     2.0 * batch * static_cast<double>(lin_ws.nnz())});
  auto slopes = vkgrad::Tensor::from(ctx, {features}, std::vector<float>(features, 0.25f));
  vkgrad::Tensor dslopes(ctx, {features});
  entries.push_back({"prelu (per-channel) backward 128x512", 4.0 * 4 * batch * features,
                     [&](vkgrad::CommandList& c) { vkgrad::prelu_backward(c, h, slopes, h, h_grad, dslopes); }});
  vkgrad::ReduceWorkspace workspace(ctx);
  entries.push_back({"sum (whole tensor)", f32, [&](vkgrad::CommandList& c) {
                       vkgrad::reduce_all(c, vkgrad::ReduceOp::sum, x, loss, workspace);
                     }});
  auto param = vkgrad::Tensor::from(ctx, {n}, host);
  vkgrad::AdamState adam_state(ctx, param);
  auto step = vkgrad::make_step_counter(ctx);
  entries.push_back({"adam update", 7 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::adam_update(c, vkgrad::AdamOptions{}, param, dy, adam_state, step);
                     }});
  // A training batch gathered from a device-resident u8 dataset (MNIST-sized: 60000 x 784).
  std::vector<uint8_t> pixels(60000ull * 784);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 131);
  auto dataset = vkgrad::Tensor::from<uint8_t>(ctx, {60000, 784}, pixels);
  std::vector<int32_t> order(batch);
  for (uint64_t i = 0; i < batch; ++i) order[i] = static_cast<int32_t>((i * 7919) % 60000);
  auto batch_index = vkgrad::Tensor::from<int32_t>(ctx, {batch}, order);
  vkgrad::Tensor images(ctx, {batch, 784});
  entries.push_back({"gather_rows u8->f32 128x784", (1.0 + 4.0) * batch * 784, [&](vkgrad::CommandList& c) {
                       vkgrad::gather_rows(c, dataset, batch_index, images, 1.0f / 255.0f, 0.0f);
                     }});
  vkgrad::SgdState sgd_state(ctx, param);
  entries.push_back({"sgd update (momentum 0.9, nesterov)", 5 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::sgd_update(c, vkgrad::SgdOptions{.lr = 0.01f, .momentum = 0.9f, .nesterov = true}, param,
                                          dy, sgd_state, step);
                     }});
  // Pruning: a parameter and its Adam state zeroed where a mask (every other element kept) is 0.
  std::vector<float> keep_every_other(n);
  for (uint64_t i = 0; i < n; ++i) keep_every_other[i] = float(i % 2);
  auto prune_mask = vkgrad::Tensor::from(ctx, {n}, keep_every_other);
  entries.push_back({"mask_apply (3 targets)", 7 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::mask_apply(c, prune_mask, {&param, &adam_state.exp_avg, &adam_state.exp_avg_sq});
                     }});
  std::vector<vkgrad::Tensor*> grads = {&y};
  vkgrad::Tensor total_norm(ctx, {1});
  vkgrad::Tensor clip_workspace;
  entries.push_back({"clip_grad_norm", 3 * f32, [&](vkgrad::CommandList& c) {
                       if (clip_workspace.empty()) {
                         clip_workspace = vkgrad::Tensor(ctx, {vkgrad::clip_grad_norm_workspace_size(c, grads)});
                       }
                       vkgrad::clip_grad_norm(c, grads, 1.0f, total_norm, clip_workspace);
                     }});
  entries.push_back({"l2 penalty accumulate", 3 * f32,
                     [&](vkgrad::CommandList& c) { vkgrad::l2_penalty_accumulate(c, param, y, 1e-4f); }});
  entries.push_back({"init normal", f32, [&](vkgrad::CommandList& c) { vkgrad::init_normal(c, y, 0.0f, 1.0f, 42); }});
  entries.push_back({"init kaiming_uniform 512x784", 4.0 * 512 * 784,
                     [&](vkgrad::CommandList& c) { vkgrad::init_kaiming_uniform(c, lin_w, 42); }});
  vkgrad::ActivationSparsity sparsity(ctx, batch, features);
  entries.push_back({"sparsity statistics 128x512", 4.0 * batch * features,
                     [&](vkgrad::CommandList& c) { sparsity.record(c, h, 1e-6f); }});
  // Elementwise and structural ops (vkgrad/elementwise.hpp).
  vkgrad::Tensor y2(ctx, {n}), wide(ctx, {batch, 3 * features}), wide_parts[3], h_t(ctx, {features, batch});
  for (auto& t : wide_parts) t = vkgrad::Tensor(ctx, {batch, features});
  const vkgrad::Tensor* concat_in[] = {&h, &h_out, &h_grad};
  vkgrad::Tensor* split_out[] = {&wide_parts[0], &wide_parts[1], &wide_parts[2]};
  const double hb = 4.0 * batch * features;  // bytes of one 128x512 tensor
  entries.push_back({"add forward", 3 * f32, [&](vkgrad::CommandList& c) { vkgrad::add(c, x, dy, y); }});
  entries.push_back({"div forward", 3 * f32, [&](vkgrad::CommandList& c) { vkgrad::div(c, x, dy, y); }});
  entries.push_back({"mul backward (da, db)", 8 * f32, [&](vkgrad::CommandList& c) {
                       vkgrad::binary_backward(c, vkgrad::BinaryOp::mul, x, dy, param, y, y2);
                     }});
  entries.push_back(
      {"add bias forward 128x512", 2 * hb, [&](vkgrad::CommandList& c) { vkgrad::add(c, h, ones, h_out); }});
  entries.push_back({"add bias backward 128x512", 3 * hb, [&](vkgrad::CommandList& c) {
                       vkgrad::binary_backward(c, vkgrad::BinaryOp::add, h, ones, h_grad, h_out, dgamma);
                     }});
  entries.push_back({"scale", 2 * f32, [&](vkgrad::CommandList& c) { vkgrad::scale(c, 0.5f, x, y); }});
  entries.push_back({"axpy", 3 * f32, [&](vkgrad::CommandList& c) { vkgrad::axpy(c, 0.5f, x, y); }});
  entries.push_back(
      {"clamp forward", 2 * f32, [&](vkgrad::CommandList& c) { vkgrad::clamp_forward(c, x, y, -1.0f, 1.0f); }});
  entries.push_back(
      {"clamp backward", 3 * f32, [&](vkgrad::CommandList& c) { vkgrad::clamp_backward(c, x, dy, y, -1.0f, 1.0f); }});
  entries.push_back(
      {"concat 3 x 128x512", 6 * hb, [&](vkgrad::CommandList& c) { vkgrad::concat_columns(c, concat_in, wide); }});
  entries.push_back(
      {"split 128x1536 into 3", 6 * hb, [&](vkgrad::CommandList& c) { vkgrad::split_columns(c, wide, split_out); }});
  entries.push_back({"transpose 128x512", 2 * hb, [&](vkgrad::CommandList& c) { vkgrad::transpose(c, h, h_t); }});

  // GEMM: C (M x N) = A (M x K) · B, or · Bᵀ for the linear layer's weight layout.
  // The MLP's products as linear_forward / linear_backward issue them: Y = X·Wᵀ (B^T), dX = dY·W,
  // dW = dYᵀ·X (A^T).
  // f16: A and B in binary16 (vkgrad::gemm's f16 inputs, f32 accumulation and result).
  struct GemmShape {
    uint64_t m, n, k;
    bool transpose_b;
    bool transpose_a = false;
    bool f16 = false;
  };
  std::vector<GemmShape> shapes = {
      {128, 512, 784, true},        {128, 256, 512, true},        {128, 10, 256, true},
      {128, 784, 512, false},       {128, 512, 256, false},       {128, 256, 10, false},
      {512, 784, 128, false, true}, {256, 512, 128, false, true}, {10, 256, 128, false, true}};
  for (uint64_t s : gemm_square) shapes.push_back({s, s, s, false});
  shapes.push_back({128, 512, 784, true, false, true});
  for (uint64_t s : gemm_square) shapes.push_back({s, s, s, false, false, true});
  std::vector<std::unique_ptr<vkgrad::Tensor>> gemm_tensors;
  for (const auto& g : shapes) {
    const vkgrad::DType in_type = g.f16 ? vkgrad::DType::f16 : vkgrad::DType::f32;
    auto a = std::make_unique<vkgrad::Tensor>(ctx, g.transpose_a ? vkgrad::Shape{g.k, g.m} : vkgrad::Shape{g.m, g.k},
                                              in_type);
    auto b = std::make_unique<vkgrad::Tensor>(ctx, g.transpose_b ? vkgrad::Shape{g.n, g.k} : vkgrad::Shape{g.k, g.n},
                                              in_type);
    auto c = std::make_unique<vkgrad::Tensor>(ctx, vkgrad::Shape{g.m, g.n});
    a->fill(0.5f);
    b->fill(0.25f);
    char name[96];
    std::snprintf(name, sizeof name, "gemm%s %llux%llux%llu%s", g.f16 ? " f16" : "",
                  static_cast<unsigned long long>(g.m), static_cast<unsigned long long>(g.n),
                  static_cast<unsigned long long>(g.k),
                  g.transpose_b   ? " (B^T)"
                  : g.transpose_a ? " (A^T)"
                                  : "");
    auto *pa = a.get(), *pb = b.get(), *pc = c.get();
    const bool ta = g.transpose_a, tb = g.transpose_b;
    entries.push_back({name, 0,
                       [pa, pb, pc, ta, tb](vkgrad::CommandList& cl) { vkgrad::gemm(cl, *pa, *pb, *pc, ta, tb); },
                       2.0 * double(g.m) * double(g.n) * double(g.k)});
    gemm_tensors.push_back(std::move(a));
    gemm_tensors.push_back(std::move(b));
    gemm_tensors.push_back(std::move(c));
  }

  // Each op over tensors as large as the copy's (at least half its bytes) is timed alternately with
  // the copy peer, and its "% copy" is against that paired copy. Smaller ops (the 128-row shapes)
  // are timed back to back and compared with the first row, the copy alone: a 32 MiB copy between
  // their runs would evict the working set they keep in cache from one run to the next.
  // On CPU devices "% host" is against the host's own copy bandwidth (HostCopy, as many bytes as
  // the device copy), measured at the start and again right before each paired op. On GPUs the
  // device copy is the ceiling, and the host columns stay empty.
  nlohmann::json results = nlohmann::json::array();
  const Entry& copy_peer = entries.front();
  double reference_copy_gbs = 0;
  const bool cpu_device = dev.type == vkgrad::DeviceType::cpu;
  std::unique_ptr<HostCopy> host_copy;
  double reference_host_gbs = 0;
  if (cpu_device) {
    host_copy = std::make_unique<HostCopy>(static_cast<std::size_t>(copy_peer.bytes / 2));
    reference_host_gbs = host_copy->gbs(repeat);
    std::printf("host memcpy (%u threads): %.2f GB/s (read + write)\n\n", HostCopy::threads(), reference_host_gbs);
  }
  std::printf("%-40s %10s %10s %9s %10s %10s %8s %9s\n", "op", "ms", "GB/s", "% copy", "GFLOP/s", "copy GB/s",
              cpu_device ? "% host" : "", cpu_device ? "host GB/s" : "");
  for (const auto& e : entries) {
    const bool is_peer = &e == &copy_peer;
    if (!is_peer && !filter.empty() && e.name.find(filter) == std::string::npos) continue;
    nlohmann::json row = {{"op", e.name}};
    if (e.bytes > 0) {
      const bool paired = !is_peer && 2 * e.bytes >= copy_peer.bytes;
      const double host_gbs = !cpu_device ? 0 : paired ? host_copy->gbs(repeat) : reference_host_gbs;
      const Timing t = median_ms(ctx, e, repeat, paired ? &copy_peer : nullptr);
      const double gbs = e.bytes / (t.ms * 1e-3) / 1e9;
      if (is_peer) reference_copy_gbs = gbs;
      const double copy_gbs = paired ? copy_peer.bytes / (t.peer_ms * 1e-3) / 1e9 : reference_copy_gbs;
      std::printf("%-40s %10.4f %10.2f %8.1f%% %10s %10.2f", e.name.c_str(), t.ms, gbs, 100.0 * gbs / copy_gbs, "",
                  copy_gbs);
      if (cpu_device) std::printf(" %7.1f%% %9.2f", 100.0 * gbs / host_gbs, host_gbs);
      std::printf("\n");
      row["ms"] = t.ms;
      row["gb_per_s"] = gbs;
      row["copy_gb_per_s"] = copy_gbs;
      row["copy_paired"] = paired;
      row["fraction_of_copy"] = gbs / copy_gbs;
      if (cpu_device) {
        row["host_copy_gb_per_s"] = host_gbs;
        row["fraction_of_host_copy"] = gbs / host_gbs;
      }
    } else {
      const double ms = median_ms(ctx, e, repeat).ms;
      const double gflops = e.flops / (ms * 1e-3) / 1e9;
      std::printf("%-40s %10.4f %10s %9s %10.2f\n", e.name.c_str(), ms, "", "", gflops);
      row["ms"] = ms;
      row["gflop_per_s"] = gflops;
    }
    results.push_back(row);
  }
  if (!json_path.empty()) {
    nlohmann::json doc = {{"device", dev.name},
                          {"driver", dev.driver_name + " " + dev.driver_info},
                          {"elements", n},
                          {"repeat", repeat},
                          {"reductions", ctx.subgroup_reductions() ? "subgroup" : "portable"},
                          {"kernels", vkgrad::to_string(ctx.kernels().set)},
                          {"results", results}};
    if (cpu_device) doc["host_copy_gb_per_s"] = reference_host_gbs;
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  return 0;
} catch (const vkgrad::Error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
