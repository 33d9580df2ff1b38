// vkgrad_bench's whole-model modes (bench/vkgrad_bench_models.hpp): the per-dispatch breakdown of a
// training step (--training-step) and the device memory held after inference (--inference-memory).
#include "vkgrad_bench_models.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <vkgrad/vkgrad.hpp>

namespace vkgrad_bench {

// One training step of the README's MNIST model, recorded once with timestamps and replayed:
// GPU time per dispatch label (median over the replays), in recording order, and the step's total.
int training_step_breakdown(vkgrad::Context& ctx, int repeat, const std::string& json_path) {
  namespace nn = vkgrad::nn;
  const uint64_t batch = 128;
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(784, 512);
  model.emplace<nn::BatchNorm1d>(512);
  model.emplace<nn::Activation>(vkgrad::Activation::relu);
  model.emplace<nn::Dropout>(0.2f);
  model.emplace<nn::Linear>(512, 256);
  model.emplace<nn::BatchNorm1d>(256);
  model.emplace<nn::Activation>(vkgrad::Activation::relu);
  model.emplace<nn::Dropout>(0.2f);
  model.emplace<nn::Linear>(256, 10);
  {
    vkgrad::CommandList init(ctx);
    model.reset_parameters(init, 1);
    init.run();
  }
  nn::Adam opt(model, {.lr = 1e-3f});
  nn::CrossEntropyLoss ce(ctx);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> xs(batch * 784);
  for (auto& v : xs) v = dist(rng);
  std::vector<int32_t> ls(batch);
  for (uint64_t i = 0; i < batch; ++i) ls[i] = static_cast<int32_t>(i % 10);
  auto x = vkgrad::Tensor::from(ctx, {batch, 784}, xs);
  auto labels = vkgrad::Tensor::from<int32_t>(ctx, {batch}, ls);
  vkgrad::Tensor logits(ctx, {batch, 10}), dlogits(ctx, {batch, 10}), loss(ctx, {1}), no_dx;
  vkgrad::CommandList cmd(ctx, vkgrad::CommandListOptions{}.set_timestamps(true));
  model.forward(cmd, x, logits);
  ce.forward(cmd, logits, labels, loss);
  ce.backward(cmd, logits, labels, dlogits);
  model.backward(cmd, x, logits, dlogits, no_dx);
  opt.record_step(cmd);
  cmd.run();  // warm-up: pipelines, caches
  std::vector<std::vector<double>> per_dispatch;
  std::vector<std::string> labels_of;
  for (int r = 0; r < repeat; ++r) {
    cmd.run();
    const auto t = cmd.timings();
    per_dispatch.resize(t.size());
    labels_of.resize(t.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
      per_dispatch[i].push_back(t[i].milliseconds);
      labels_of[i] = t[i].label;
    }
  }
  // Sum of per-dispatch medians by label, in order of first appearance.
  std::vector<std::pair<std::string, std::pair<double, int>>> by_label;
  double total = 0;
  for (std::size_t i = 0; i < per_dispatch.size(); ++i) {
    auto v = per_dispatch[i];
    std::sort(v.begin(), v.end());
    const double ms = v[v.size() / 2];
    total += ms;
    auto it = std::find_if(by_label.begin(), by_label.end(), [&](const auto& e) { return e.first == labels_of[i]; });
    if (it == by_label.end())
      by_label.push_back({labels_of[i], {ms, 1}});
    else {
      it->second.first += ms;
      ++it->second.second;
    }
  }
  std::printf("one training step, batch %llu, %zu dispatches, median of %d replays\n\n%-40s %6s %10s %7s\n",
              static_cast<unsigned long long>(batch), per_dispatch.size(), repeat, "dispatch", "count", "ms", "share");
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [label, v] : by_label) {
    std::printf("%-40s %6d %10.4f %6.1f%%\n", label.c_str(), v.second, v.first, 100.0 * v.first / total);
    rows.push_back({{"dispatch", label}, {"count", v.second}, {"ms", v.first}});
  }
  std::printf("%-40s %6zu %10.4f\n", "total", per_dispatch.size(), total);
  if (!json_path.empty()) {
    const auto& dev = ctx.device();
    const auto& k = ctx.kernels();
    nlohmann::json doc = {{"device", dev.name},
                          {"driver", dev.driver_name + " " + dev.driver_info},
                          {"kernels",
                           {{"set", vkgrad::to_string(k.set)},
                            {"texel_loads", k.texel_loads},
                            {"subgroup_reductions", k.subgroup_reductions},
                            {"gemm_path", vkgrad::to_string(k.gemm_path)},
                            {"row_reductions", vkgrad::to_string(k.row_reductions)}}},
                          {"training_step_ms", total},
                          {"dispatches", rows}};
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  return 0;
}

// Device memory held by a 784-256-128-10 model (BatchNorm1d, ReLU) after inference over every batch
// size 1..256, against what the largest batch alone needs: Sequential::predict, whose buffers are
// sized for the largest batch, and forward() in eval mode, which caches up to
// Sequential::max_cached_batch_sizes batch sizes. Context::allocated_bytes is the measure.
int inference_memory(vkgrad::Context& ctx, const std::string& json_path) {
  namespace nn = vkgrad::nn;
  const uint64_t in = 784, largest = 256;
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(in, 256);
  model.emplace<nn::BatchNorm1d>(256);
  model.emplace<nn::Activation>(vkgrad::Activation::relu);
  model.emplace<nn::Linear>(256, 128);
  model.emplace<nn::BatchNorm1d>(128);
  model.emplace<nn::Activation>(vkgrad::Activation::relu);
  model.emplace<nn::Linear>(128, 10);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> xs(largest * in);
  for (auto& v : xs) v = dist(rng);
  const auto first_rows = [&](uint64_t rows) { return std::span<const float>(xs).first(rows * in); };
  const auto mib = [](uint64_t bytes) { return double(bytes) / double(1 << 20); };

  model.predict(xs, largest);  // staging buffers and pipelines reach their steady state
  model.release_buffers();
  const uint64_t base = ctx.allocated_bytes();
  model.predict(xs, largest);
  const uint64_t predict_alone = ctx.allocated_bytes() - base;
  model.release_buffers();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t rows = 1; rows <= largest; ++rows) model.predict(first_rows(rows), rows);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t predict_held = ctx.allocated_bytes() - base;
  model.release_buffers();

  // forward() in eval mode: allocation happens when a pass is recorded, so the lists are recorded
  // and dropped without running.
  model.eval();
  vkgrad::Tensor x(ctx, {largest, in}), y(ctx, {largest, 10});
  const uint64_t with_io = ctx.allocated_bytes();
  {
    vkgrad::CommandList cmd(ctx);
    model.forward(cmd, x, y);
  }
  const uint64_t forward_alone = ctx.allocated_bytes() - with_io;
  model.release_buffers();
  for (uint64_t rows = 1; rows <= largest; ++rows) {
    vkgrad::Tensor xr(ctx, {rows, in}), yr(ctx, {rows, 10});
    vkgrad::CommandList cmd(ctx);
    model.forward(cmd, xr, yr);
  }
  const uint64_t forward_held = ctx.allocated_bytes() - with_io;
  model.release_buffers();
  const uint64_t released = ctx.allocated_bytes() - with_io;

  std::printf("inference memory: 784-256-128-10 MLP (BatchNorm1d, ReLU), %llu parameters, batch sizes 1..%llu\n\n",
              static_cast<unsigned long long>(model.parameter_count()), static_cast<unsigned long long>(largest));
  std::printf("%-44s %12s %12s %7s\n", "path", "largest MiB", "held MiB", "ratio");
  std::printf("%-44s %12.3f %12.3f %7.2f\n", "predict (host, ran)", mib(predict_alone), mib(predict_held),
              double(predict_held) / double(predict_alone));
  std::printf("%-44s %12.3f %12.3f %7.2f\n", "forward, eval mode (recorded)", mib(forward_alone), mib(forward_held),
              double(forward_held) / double(forward_alone));
  std::printf("after release_buffers: %.3f MiB; predict sweep took %.2f s\n", mib(released), seconds);
  if (!json_path.empty()) {
    nlohmann::json doc = {{"device", ctx.device().name},
                          {"parameters", model.parameter_count()},
                          {"predict_largest_bytes", predict_alone},
                          {"predict_held_bytes", predict_held},
                          {"forward_largest_bytes", forward_alone},
                          {"forward_held_bytes", forward_held},
                          {"released_bytes", released},
                          {"predict_sweep_seconds", seconds}};
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  return predict_held <= 2 * predict_alone ? 0 : 1;
}

}  // namespace vkgrad_bench
