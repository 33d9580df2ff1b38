#include "pruning.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

namespace mnist {

void add_prune_flags(CLI::App& app, PruneFlags& f) {
  app.add_option("--prune-sparsity", f.sparsity,
                 "prune the Linear weights to this final sparsity s_f (fraction of weights exactly 0; 0 = no "
                 "pruning). Pruned weights stay 0 through every update (their gradient and optimizer state too)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--prune-method", f.method,
                 "global (one magnitude threshold over all layers), magnitude (per layer), random, n:m "
                 "(N of every M inputs, --prune-n-m) or neurons (whole output rows)")
      ->check(CLI::IsMember({"global", "magnitude", "random", "n:m", "neurons"}))
      ->capture_default_str();
  app.add_option("--prune-schedule", f.schedule,
                 "one-shot (prune to s_f at --prune-start), iterative (equal steps from --prune-start to "
                 "--prune-end) or cubic (Zhu & Gupta: s_t = s_f + (s_i - s_f)(1 - (t - start)/(end - start))^3)")
      ->check(CLI::IsMember({"one-shot", "iterative", "cubic"}))
      ->capture_default_str();
  app.add_option("--prune-start", f.start, "epochs trained before the first pruning")->capture_default_str();
  app.add_option("--prune-end", f.end,
                 "epochs trained before the last pruning (default: --prune-start); later epochs fine-tune at s_f");
  app.add_option("--prune-frequency", f.frequency, "epochs between pruning steps")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--prune-initial", f.initial, "initial sparsity s_i of the iterative and cubic schedules")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--prune-keep-output", f.keep_output_layer, "leave the output Linear dense");
  app.add_option("--prune-n-m", f.n_m, "N:M of --prune-method n:m")->capture_default_str();
  app.add_option("--export", f.export_dense,
                 "after training, write the model's state_dict (dense weights) to this safetensors file");
  app.add_option("--export-sparse", f.export_sparse,
                 "after training, write the model's state_dict with its sparse Linear weights in CSR "
                 "(torch.sparse_csr_tensor's crow_indices, col_indices, values) to this safetensors file");
  app.add_flag("--time-inference", f.time_inference,
               "after training, time inference on the test set at batches 1, 128 and 1024, dense and with "
               "compressed (sparse) weights");
}

namespace {

std::pair<uint32_t, uint32_t> parse_n_m(const std::string& text) {
  unsigned n = 0, m = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u:%u%c", &n, &m, &extra) != 2) {
    throw CLI::ValidationError("--prune-n-m", "expected N:M such as 2:4, got '" + text + "'");
  }
  return {n, m};
}

}  // namespace

std::unique_ptr<vkgrad::nn::Pruner> make_pruner(vkgrad::nn::Sequential& model, const PruneFlags& f) {
  if (f.sparsity == 0 && f.method != "n:m") return nullptr;
  const auto method = vkgrad::nn::prune_method_from_name(f.method);
  const auto kind = vkgrad::nn::prune_schedule_from_name(f.schedule);
  if (!method) throw CLI::ValidationError("--prune-method", "unknown method '" + f.method + "'");
  if (!kind) throw CLI::ValidationError("--prune-schedule", "unknown schedule '" + f.schedule + "'");
  vkgrad::nn::PrunerOptions o;
  o.method = *method;
  const uint64_t end = *kind == vkgrad::nn::PruneSchedule::Kind::one_shot ? f.start : std::max(f.end, f.start);
  o.schedule = vkgrad::nn::PruneSchedule::make(*kind, f.sparsity, f.start, end, f.frequency, f.initial);
  o.layers.skip_output_layer = f.keep_output_layer;
  o.seed = f.seed;
  std::tie(o.n, o.m) = parse_n_m(f.n_m);
  return std::make_unique<vkgrad::nn::Pruner>(model, o);
}

std::string describe(const PruneFlags& f) {
  std::ostringstream s;
  s << "pruning: " << f.method << (f.method == "n:m" ? " " + f.n_m : "") << ", " << f.schedule << " schedule";
  if (f.method != "n:m") s << " to " << 100 * f.sparsity << "%";
  if (f.schedule == "one-shot") {
    s << " after epoch " << f.start;
  } else {
    s << " from " << 100 * f.initial << "% after epochs " << f.start << ".." << std::max(f.end, f.start) << " every "
      << f.frequency;
  }
  if (f.keep_output_layer) s << ", output layer dense";
  return s.str();
}

namespace {

// Milliseconds per run of `cmd`: replayed until about 0.25 s has passed, at least 5 times.
double run_ms(vkgrad::CommandList& cmd) {
  int runs = 0;
  double ms = 0;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    cmd.run();
    ++runs;
    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  } while (runs < 5 || ms < 250);
  return ms / runs;
}

}  // namespace

std::string time_inference(vkgrad::nn::Sequential& model, const std::vector<uint8_t>& images, uint64_t features,
                           float scale, float shift, const std::vector<uint64_t>& batches) {
  vkgrad::Context& ctx = model.context();
  const uint64_t outputs = model.output_features(features);
  std::vector<double> dense, sparse;
  std::vector<vkgrad::Tensor> xs, ys;
  for (uint64_t rows : batches) {
    rows = std::min<uint64_t>(rows, images.size() / features);
    std::vector<float> x(rows * features);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(images[i]) * scale + shift;
    xs.push_back(vkgrad::Tensor::from(ctx, {rows, features}, x));
    ys.emplace_back(ctx, vkgrad::Shape{rows, outputs});
  }
  // Both lists are recorded first (a list keeps the weights it was recorded with: the dense W, or
  // the snapshot), then replayed alternately, 4 rounds, the best of each kept, so that neither
  // gains from running second (warm caches, the host's other load).
  std::vector<vkgrad::CommandList> dense_lists, sparse_lists;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    model.predict(dense_lists.emplace_back(ctx), xs[i], ys[i]);
  }
  vkgrad::nn::compress_weights(model);
  for (std::size_t i = 0; i < batches.size(); ++i) {
    model.predict(sparse_lists.emplace_back(ctx), xs[i], ys[i]);
  }
  dense.assign(batches.size(), 1e300);
  sparse.assign(batches.size(), 1e300);
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < batches.size(); ++i) {
      dense[i] = std::min(dense[i], run_ms(dense_lists[i]));
      sparse[i] = std::min(sparse[i], run_ms(sparse_lists[i]));
    }
  }
  // Which layers the compressed model multiplies sparse, per batch.
  std::ostringstream s;
  s << "  batch    dense ms   compressed ms   dense/compressed   sparse layers\n";
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const uint64_t rows = xs[i].shape()[0];
    std::string layers;
    for (std::size_t l = 0; l < model.size(); ++l) {
      if (auto* lin = dynamic_cast<vkgrad::nn::Linear*>(&model[l]); lin && lin->sparse_at(rows)) {
        layers += (layers.empty() ? "" : ",") + std::to_string(l);
      }
    }
    char line[160];
    std::snprintf(line, sizeof line, "  %5llu  %10.3f  %14.3f  %17.2fx   %s\n", (unsigned long long)rows, dense[i],
                  sparse[i], dense[i] / sparse[i], layers.empty() ? "none" : layers.c_str());
    s << line;
  }
  vkgrad::nn::drop_compressed_weights(model);
  return s.str();
}

}  // namespace mnist
