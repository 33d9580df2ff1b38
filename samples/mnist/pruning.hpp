// Weight pruning in the sample trainer: the --prune-* and export flags, the Pruner they build, and
// the inference timing of a pruned model with dense and compressed weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <vkgrad/nn.hpp>

namespace mnist {

/// What the --prune-* flags and the exports ask for.
struct PruneFlags {
  double sparsity = 0;  ///< s_f; 0: no pruning
  std::string method = "global";
  std::string schedule = "cubic";
  uint64_t start = 0, end = 0, frequency = 1;  ///< in epochs trained
  double initial = 0;                          ///< s_i
  bool keep_output_layer = false;
  std::string n_m = "2:4";
  uint64_t seed = 1;  ///< the random method's seed (the run's --seed)
  std::filesystem::path export_dense, export_sparse;
  bool time_inference = false;
};

/// Adds the flags to `app`.
void add_prune_flags(CLI::App& app, PruneFlags& flags);

/// The Pruner the flags describe, or null without pruning. Throws CLI::ValidationError naming the
/// flag for a bad method, schedule or N:M, and vkgrad::InvalidArgument for a bad schedule.
std::unique_ptr<vkgrad::nn::Pruner> make_pruner(vkgrad::nn::Sequential& model, const PruneFlags& flags);

/// "pruning: global magnitude, cubic schedule 0 → 90% at epochs 2..8 every 1"
std::string describe(const PruneFlags& flags);

/// The inference time of `model` on the first rows of `images` (u8 pixels, normalised as
/// x = pixel · scale + shift) at each batch of `batches`, dense and with compressed weights
/// (vkgrad::nn::compress_weights: each Linear sparse where sparse_is_faster says so), as a table.
/// Leaves the model dense.
std::string time_inference(vkgrad::nn::Sequential& model, const std::vector<uint8_t>& images, uint64_t features,
                           float scale, float shift, const std::vector<uint64_t>& batches);

}  // namespace mnist
