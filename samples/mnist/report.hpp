// Terminal progress bar, training-curve files (CSV and SVG) and the sparsity report of the sample
// trainer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <vkgrad/nn.hpp>

namespace mnist {

/// One epoch's figures, as written to the curves and the metrics JSON.
struct EpochRecord {
  uint64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double seconds = 0;  ///< training time of the epoch (not evaluation)
};

/// A live progress bar when stdout is a terminal (redrawn in place), plain lines every ~25 % of an
/// epoch otherwise (so logs and CI output stay readable); nothing when quiet.
class Progress {
 public:
  Progress(bool quiet);
  void start_epoch(uint64_t epoch, uint64_t epochs, uint64_t samples);
  void update(uint64_t done, const vkgrad::nn::Metrics& running);
  /// Clears the bar (terminal) so the epoch summary line replaces it.
  void finish();
  bool interactive() const { return tty_; }

 private:
  bool quiet_, tty_;
  uint64_t epoch_ = 0, epochs_ = 0, total_ = 0, next_line_ = 0;
  double start_ = 0;
};

/// Writes <prefix>.csv (one row per epoch) and <prefix>.svg (loss and accuracy against epochs).
void write_curves(const std::filesystem::path& prefix, const std::vector<EpochRecord>& records,
                  const std::string& title);

/// A table of the per-layer activation sparsity.
std::string sparsity_report(const std::vector<vkgrad::nn::LayerSparsity>& layers, float eps);

/// "1:23" or "12.3 s"
std::string format_duration(double seconds);

}  // namespace mnist
