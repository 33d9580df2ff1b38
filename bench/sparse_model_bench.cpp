// Inference of whole pruned MLPs, dense against compressed (nn::compress_weights): the GPU time of
// Sequential::predict (logits) per batch, the median over --repeat predictions recorded into one list
// that alternates the dense and the compressed model (so a host whose speed drifts moves both alike),
// plus the wall time of a one-prediction list (submission and wait included). Every Linear is pruned
// to --sparsity with a random mask (exactly round(sparsity · elements) zeros, fixed seed) through
// Linear::set_weight_mask; the compressed model is the dense one's state_dict, compressed to CSR.
// Each compressed result is checked against the dense one before it is timed. The "path" column
// shows, per Linear, whether predict took the sparse (S) or the dense (D) product at that batch
// (sparse_is_faster, or VKGRAD_SPARSE_CROSSOVER).
//
//   vkgrad-sparse-model-bench [--models 784-300-100-10,784-512-256-10] [--sparsity 0.9]
//                             [--batch 1,128,1024] [--repeat R] [--export DIR]
// --export writes DIR/<model>.dense.safetensors (Sequential::state_dict) and DIR/<model>.csr.safetensors
// (nn::save_sparse) and prints their sizes (bench/sparse_csr_pytorch.py loads them into PyTorch).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>
#include <vkgrad/vkgrad.hpp>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::vector<uint64_t> parse_dims(const std::string& text) {
  std::vector<uint64_t> dims;
  std::stringstream s(text);
  for (std::string part; std::getline(s, part, '-');) dims.push_back(std::stoull(part));
  if (dims.size() < 2) throw std::invalid_argument("model '" + text + "' is not in-hidden-...-out");
  return dims;
}

// Linear → ReLU → ... → Linear over `dims`, PyTorch's init from a fixed seed, every Linear pruned to
// `sparsity` with a random mask.
void build(vkgrad::nn::Sequential& model, const std::vector<uint64_t>& dims, double sparsity) {
  std::vector<vkgrad::nn::Linear*> linears;
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    if (i > 0) model.emplace<vkgrad::nn::Activation>(vkgrad::Activation::relu);
    linears.push_back(&model.emplace<vkgrad::nn::Linear>(dims[i], dims[i + 1]));
  }
  vkgrad::CommandList init(model.context());
  model.reset_parameters(init, 1);
  init.run();
  std::mt19937 rng(11);
  for (auto* linear : linears) {
    std::vector<float> mask(linear->weight().numel(), 1.0f);
    std::vector<uint32_t> order(mask.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    const auto zeros = static_cast<std::size_t>(std::llround(sparsity * static_cast<double>(mask.size())));
    for (std::size_t i = 0; i < zeros; ++i) mask[order[i]] = 0.0f;
    linear->set_weight_mask(mask);
  }
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("whole-model inference, dense vs compressed (CSR) Linear weights");
  std::vector<std::string> models = {"784-300-100-10", "784-512-256-10"};
  double sparsity = 0.9;
  std::vector<uint64_t> batches = {1, 128, 1024};
  int repeat = 15;
  std::string export_dir;
  app.add_option("--models", models, "MLPs as in-hidden-...-out")->delimiter(',');
  app.add_option("--sparsity", sparsity, "fraction of zero weights in every Linear")->check(CLI::Range(0.0, 1.0));
  app.add_option("--batch", batches, "batch sizes")->delimiter(',');
  app.add_option("--repeat,-r", repeat, "timed predictions (median reported)")->check(CLI::Range(3, 1000));
  app.add_option("--export", export_dir, "write each model's dense and CSR safetensors files here");
  CLI11_PARSE(app, argc, argv);

  vkgrad::Context ctx;
  const auto& dev = ctx.device();
  std::printf("device: %s (driver %s), kernels: %s, sparsity %.0f%% (random mask), median of %d, ms per predict\n",
              dev.name.c_str(), dev.driver_info.c_str(), vkgrad::to_string(ctx.kernels().set), 100 * sparsity, repeat);
  std::printf("%-16s %5s %10s %10s %8s %10s %10s %8s  %s\n", "model", "batch", "dense gpu", "csr gpu", "csr/den",
              "dense wall", "csr wall", "csr/den", "path");
  for (const std::string& name : models) {
    const auto dims = parse_dims(name);
    vkgrad::nn::Sequential dense(ctx), sparse(ctx);
    build(dense, dims, sparsity);
    build(sparse, dims, 0.0);
    sparse.load_state_dict(dense.state_dict());
    const auto t_compress = std::chrono::steady_clock::now();
    vkgrad::nn::compress_weights(sparse);
    const double compress_ms = ms_since(t_compress);
    if (!export_dir.empty()) {
      std::filesystem::create_directories(export_dir);
      const auto d = std::filesystem::path(export_dir) / (name + ".dense.safetensors");
      const auto c = std::filesystem::path(export_dir) / (name + ".csr.safetensors");
      vkgrad::save_safetensors(d, dense.state_dict());
      vkgrad::nn::save_sparse(dense, c);
      std::printf("%s: %s %llu bytes, %s %llu bytes\n", name.c_str(), d.string().c_str(),
                  static_cast<unsigned long long>(std::filesystem::file_size(d)), c.string().c_str(),
                  static_cast<unsigned long long>(std::filesystem::file_size(c)));
    }
    for (const uint64_t batch : batches) {
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> value(-1.0f, 1.0f);
      std::vector<float> x(batch * dims.front());
      for (float& v : x) v = value(rng);
      vkgrad::Tensor X = vkgrad::Tensor::from(ctx, {batch, dims.front()}, x);
      vkgrad::Tensor Yd(ctx, {batch, dims.back()}), Ys(ctx, {batch, dims.back()});
      vkgrad::CommandList one_dense(ctx), one_sparse(ctx);
      dense.predict(one_dense, X, Yd);
      sparse.predict(one_sparse, X, Ys);
      one_dense.run();
      one_sparse.run();
      const auto yd = Yd.to_vector(), ys = Ys.to_vector();
      for (std::size_t i = 0; i < yd.size(); ++i) {
        if (!(std::fabs(yd[i] - ys[i]) <= 1e-4 * (1 + std::fabs(yd[i])))) {
          std::fprintf(stderr, "%s batch %llu: compressed logit %zu is %g, dense %g\n", name.c_str(),
                       static_cast<unsigned long long>(batch), i, double(ys[i]), double(yd[i]));
          return 1;
        }
      }
      const std::size_t per_run[2] = {one_dense.dispatch_count(), one_sparse.dispatch_count()};
      vkgrad::CommandList cmd(ctx, vkgrad::CommandListOptions{}.set_timestamps(true));
      for (int i = 0; i < repeat; ++i) {
        dense.predict(cmd, X, Yd);
        sparse.predict(cmd, X, Ys);
      }
      cmd.run();  // warm-up: pipelines, caches
      cmd.run();
      const auto t = cmd.timings();
      std::vector<double> gpu[2], wall[2];
      for (std::size_t at = 0; at < t.size();) {
        for (int r = 0; r < 2; ++r) {
          double total = 0;
          for (std::size_t d = 0; d < per_run[r]; ++d) total += t[at++].milliseconds;
          gpu[r].push_back(total);
        }
      }
      for (int i = 0; i < repeat; ++i) {
        for (int r = 0; r < 2; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          (r == 0 ? one_dense : one_sparse).run();
          wall[r].push_back(ms_since(t0));
        }
      }
      std::string path;
      for (std::size_t i = 0; i < sparse.size(); ++i) {
        const auto* linear = dynamic_cast<const vkgrad::nn::Linear*>(&sparse[i]);
        if (linear == nullptr) continue;
        const vkgrad::SparseMatrix& w = *linear->compressed();
        path += vkgrad::sparse_is_faster(ctx, batch, w.cols(), w.rows(), w.density()) ? 'S' : 'D';
      }
      const double gd = median(gpu[0]), gs = median(gpu[1]), wd = median(wall[0]), ws = median(wall[1]);
      std::printf("%-16s %5llu %10.4f %10.4f %8.2f %10.4f %10.4f %8.2f  %s\n", name.c_str(),
                  static_cast<unsigned long long>(batch), gd, gs, gs / gd, wd, ws, ws / wd, path.c_str());
      std::fflush(stdout);
    }
    std::printf("%s: compress_weights %.1f ms\n", name.c_str(), compress_ms);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vkgrad-sparse-model-bench: %s\n", e.what());
  return 1;
}
