// Dense linear_forward against sparse_linear_forward (CSR and ELL) at the MNIST model's layer shapes
// (784→512, 512→256, 256→10), batches 1, 128 and 1024, and 50 to 98 % unstructured sparsity (a
// random mask with a fixed seed): GPU time per run from timestamps, the median over --repeat runs
// recorded into one list that alternates dense, CSR and ELL runs (so a host whose speed drifts moves
// all three alike). Also the host time of SparseMatrix::from_dense (download, compress, upload).
// Every sparse result is checked against the dense one before it is timed.
//
//   vkgrad-sparse-bench [--repeat R] [--sparsity 0.5,0.8,...] [--batch 1,128,1024] [--json FILE]
// The kernel set is the context's (VKGRAD_KERNELS=gpu or cpu).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>
#include <vkgrad/vkgrad.hpp>

namespace {

struct Shape {
  uint64_t in, out;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Weights uniform in [-1, 1) with round(sparsity · out · in) of them, chosen at random, set to 0.
std::vector<float> masked_weights(const Shape& s, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> w(s.out * s.in);
  for (float& x : w) x = value(rng);
  std::vector<uint32_t> order(w.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const auto zeros = static_cast<std::size_t>(std::llround(sparsity * static_cast<double>(w.size())));
  for (std::size_t i = 0; i < zeros; ++i) w[order[i]] = 0.0f;
  return w;
}

// The largest |a - b| relative to 1 + |b|.
double worst_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (1 + std::fabs(b[i])));
  return worst;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("dense vs sparse linear_forward at the MNIST layer shapes");
  int repeat = 15;
  std::vector<double> sparsities = {0.5, 0.8, 0.9, 0.95, 0.98};
  std::vector<uint64_t> batches = {1, 128, 1024};
  std::string json_path;
  app.add_option("--repeat,-r", repeat, "timed runs (median reported)")->check(CLI::Range(3, 1000));
  app.add_option("--sparsity", sparsities, "fractions of zero weights")->delimiter(',');
  app.add_option("--batch", batches, "batch sizes")->delimiter(',');
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  vkgrad::Context ctx;
  const auto& dev = ctx.device();
  std::printf("device: %s (driver %s), kernels: %s, median of %d runs, ms per run\n", dev.name.c_str(),
              dev.driver_info.c_str(), vkgrad::to_string(ctx.kernels().set), repeat);
  std::printf("%-9s %5s %8s %8s %8s %8s %8s %8s\n", "layer", "batch", "sparsity", "dense", "csr", "ell", "csr/den",
              "convert");
  nlohmann::json results = nlohmann::json::array();
  const Shape shapes[] = {{784, 512}, {512, 256}, {256, 10}};
  for (const Shape& s : shapes) {
    for (const uint64_t batch : batches) {
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> value(-1.0f, 1.0f);
      std::vector<float> x(batch * s.in), b(s.out);
      for (float& v : x) v = value(rng);
      for (float& v : b) v = value(rng);
      vkgrad::Tensor X = vkgrad::Tensor::from(ctx, {batch, s.in}, x), B = vkgrad::Tensor::from(ctx, {s.out}, b);
      for (const double sparsity : sparsities) {
        const auto w = masked_weights(s, sparsity, 11);
        vkgrad::Tensor W = vkgrad::Tensor::from(ctx, {s.out, s.in}, w);
        const auto t0 = std::chrono::steady_clock::now();
        const vkgrad::SparseMatrix csr = vkgrad::SparseMatrix::from_dense(ctx, W, vkgrad::SparseFormat::csr);
        const double convert_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const vkgrad::SparseMatrix ell = vkgrad::SparseMatrix::from_dense(ctx, W, vkgrad::SparseFormat::ell);
        vkgrad::Tensor Yd(ctx, {batch, s.out}), Yc(ctx, {batch, s.out}), Ye(ctx, {batch, s.out});
        {
          vkgrad::CommandList check(ctx);
          vkgrad::linear_forward(check, X, W, B, Yd, vkgrad::Activation::relu);
          vkgrad::sparse_linear_forward(check, X, csr, B, Yc, vkgrad::Activation::relu);
          vkgrad::sparse_linear_forward(check, X, ell, B, Ye, vkgrad::Activation::relu);
          check.run();
          const auto d = Yd.to_vector();
          const double worst = std::max(worst_difference(Yc.to_vector(), d), worst_difference(Ye.to_vector(), d));
          if (worst > 1e-4) {
            std::fprintf(stderr, "sparse result differs from dense by %g\n", worst);
            return 1;
          }
        }
        // Each run's dispatches (the sparse one may transpose X first), summed per run.
        const std::function<void(vkgrad::CommandList&)> runs[3] = {
            [&](vkgrad::CommandList& l) { vkgrad::linear_forward(l, X, W, B, Yd, vkgrad::Activation::relu); },
            [&](vkgrad::CommandList& l) { vkgrad::sparse_linear_forward(l, X, csr, B, Yc, vkgrad::Activation::relu); },
            [&](vkgrad::CommandList& l) { vkgrad::sparse_linear_forward(l, X, ell, B, Ye, vkgrad::Activation::relu); }};
        std::size_t per_run[3];
        for (int r = 0; r < 3; ++r) {
          vkgrad::CommandList probe(ctx);
          runs[r](probe);
          per_run[r] = probe.dispatch_count();
        }
        vkgrad::CommandList cmd(ctx, vkgrad::CommandListOptions{}.set_timestamps(true));
        for (int i = 0; i < repeat; ++i) {
          for (const auto& run : runs) run(cmd);
        }
        cmd.run();  // warm-up: pipelines, caches
        cmd.run();
        const auto t = cmd.timings();
        std::vector<double> ms[3];
        for (std::size_t at = 0; at < t.size();) {
          for (int r = 0; r < 3; ++r) {
            double total = 0;
            for (std::size_t d = 0; d < per_run[r]; ++d) total += t[at++].milliseconds;
            ms[r].push_back(total);
          }
        }
        const auto& dense_ms = ms[0];
        const auto& csr_ms = ms[1];
        const auto& ell_ms = ms[2];
        const double dm = median(dense_ms), cm = median(csr_ms), em = median(ell_ms);
        char layer[32];
        std::snprintf(layer, sizeof layer, "%llu→%llu", static_cast<unsigned long long>(s.in),
                      static_cast<unsigned long long>(s.out));
        std::printf("%-11s %5llu %7.0f%% %8.4f %8.4f %8.4f %8.2f %8.2f\n", layer,
                    static_cast<unsigned long long>(batch), sparsity * 100, dm, cm, em, cm / dm, convert_ms);
        std::fflush(stdout);
        results.push_back({{"in", s.in},
                           {"out", s.out},
                           {"batch", batch},
                           {"sparsity", sparsity},
                           {"dense_ms", dm},
                           {"csr_ms", cm},
                           {"ell_ms", em},
                           {"convert_ms", convert_ms}});
      }
    }
  }
  if (!json_path.empty()) std::ofstream(json_path) << results.dump(1) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vkgrad-sparse-bench: %s\n", e.what());
  return 1;
}
