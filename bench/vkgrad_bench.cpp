// vkgrad's benchmark suite: every op's GPU time from timestamps, as GB/s, next to the device's
// buffer-copy bandwidth measured in the same run (the ceiling for elementwise ops).
//
//   vkgrad_bench [--elements N] [--repeat R] [--filter SUBSTRING] [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>
#include <vkgrad/vkgrad.hpp>

namespace {

struct Entry {
  std::string name;
  double bytes;  ///< bytes read + written by one run
  std::function<void(vkgrad::CommandList&)> record;
};

// Median GPU time of `repeat` back-to-back runs of `entry`, each ordered after the previous by
// the write-after-write on its output.
double median_ms(vkgrad::Context& ctx, const Entry& entry, int repeat) {
  vkgrad::CommandList cmd(ctx, vkgrad::CommandListOptions{}.set_timestamps(true));
  for (int i = 0; i < repeat; ++i) entry.record(cmd);
  cmd.run();  // warm-up: pipelines, caches
  cmd.run();
  std::vector<double> ms;
  for (const auto& t : cmd.timings()) ms.push_back(t.milliseconds);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("vkgrad benchmark suite: GPU time per op from timestamps, with the copy bandwidth as peer");
  uint64_t n = 1u << 22;
  int repeat = 20;
  std::string filter, json_path;
  app.add_option("--elements,-n", n, "elements per tensor")->check(CLI::Range(uint64_t(1), uint64_t(1) << 30));
  app.add_option("--repeat,-r", repeat, "timed runs per op (median reported)")->check(CLI::Range(3, 10000));
  app.add_option("--filter,-f", filter, "only ops whose name contains this");
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  vkgrad::Context ctx;
  const auto& dev = ctx.device();
  if (!dev.timestamps) throw vkgrad::UnsupportedError(dev.name + " has no timestamp queries; cannot benchmark");
  std::printf("device: %s (%s), driver: %s %s\nelements: %llu, repeat: %d\n\n", dev.name.c_str(),
              vkgrad::to_string(dev.type), dev.driver_name.c_str(), dev.driver_info.c_str(),
              static_cast<unsigned long long>(n), repeat);

  std::vector<float> host(n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
  for (auto& v : host) v = dist(rng);
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
                       vkgrad::activation_forward(c, vkgrad::ActivationSpec(vkgrad::Activation::relu).sparse_threshold(0.5f), x, y);
                     }});

  nlohmann::json results = nlohmann::json::array();
  double copy_gbs = 0;
  std::printf("%-34s %10s %10s %9s\n", "op", "ms", "GB/s", "% copy");
  for (const auto& e : entries) {
    if (!filter.empty() && e.name.find(filter) == std::string::npos && e.name.rfind("copy", 0) != 0) continue;
    const double ms = median_ms(ctx, e, repeat);
    const double gbs = e.bytes / (ms * 1e-3) / 1e9;
    if (copy_gbs == 0) copy_gbs = gbs;
    std::printf("%-34s %10.4f %10.2f %8.1f%%\n", e.name.c_str(), ms, gbs, 100.0 * gbs / copy_gbs);
    results.push_back({{"op", e.name}, {"ms", ms}, {"gb_per_s", gbs}, {"fraction_of_copy", gbs / copy_gbs}});
  }
  if (!json_path.empty()) {
    nlohmann::json doc = {{"device", dev.name},
                          {"driver", dev.driver_name + " " + dev.driver_info},
                          {"elements", n},
                          {"repeat", repeat},
                          {"results", results}};
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  return 0;
} catch (const vkgrad::Error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
