#include "report.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace mnist {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half a file.
void write_file(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

std::string format_duration(double seconds) {
  char buf[32];
  if (!(seconds >= 0) || seconds > 1e7) return "--";
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else {
    const auto s = static_cast<long>(seconds + 0.5);
    if (s >= 3600) {
      std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    }
  }
  return buf;
}

Progress::Progress(bool quiet) : quiet_(quiet), tty_(::isatty(STDOUT_FILENO) == 1) {}

void Progress::start_epoch(uint64_t epoch, uint64_t epochs, uint64_t samples) {
  epoch_ = epoch;
  epochs_ = epochs;
  total_ = samples;
  next_line_ = samples / 4;
  start_ = now_seconds();
}

void Progress::update(uint64_t done, const vkgrad::nn::Metrics& running) {
  if (quiet_ || done == 0) return;
  const double elapsed = now_seconds() - start_;
  const double rate = elapsed > 0 ? double(done) / elapsed : 0;
  const double eta = rate > 0 ? double(total_ - done) / rate : -1;
  char line[256];
  if (tty_) {
    constexpr int width = 30;
    const int filled = static_cast<int>(width * double(done) / double(std::max<uint64_t>(total_, 1)));
    std::string bar(filled, '#');
    bar += std::string(width - filled, '.');
    std::snprintf(line, sizeof line,
                  "\r\033[Kepoch %llu/%llu [%s] %llu/%llu  %.0f samples/s  loss %.4f  acc %.2f%%  ETA %s",
                  (unsigned long long)epoch_, (unsigned long long)epochs_, bar.c_str(), (unsigned long long)done,
                  (unsigned long long)total_, rate, running.loss, 100 * running.accuracy, format_duration(eta).c_str());
    std::cout << line << std::flush;
  } else if (done >= next_line_ && done < total_) {
    std::snprintf(line, sizeof line,
                  "epoch %llu/%llu: %llu/%llu samples, %.0f samples/s, loss %.4f, acc %.2f%%, ETA %s",
                  (unsigned long long)epoch_, (unsigned long long)epochs_, (unsigned long long)done,
                  (unsigned long long)total_, rate, running.loss, 100 * running.accuracy, format_duration(eta).c_str());
    std::cout << line << std::endl;
    next_line_ = done + std::max<uint64_t>(total_ / 4, 1);
  }
}

void Progress::finish() {
  if (!quiet_ && tty_) std::cout << "\r\033[K" << std::flush;
}

void write_curves(const std::filesystem::path& prefix, const std::vector<EpochRecord>& records,
                  const std::string& title) {
  std::ostringstream csv;
  csv << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n";
  for (const auto& r : records) {
    csv << r.epoch << ',' << r.train_loss << ',' << r.train_accuracy << ',' << r.test_loss << ',' << r.test_accuracy
        << ',' << r.seconds << '\n';
  }
  write_file(prefix.string() + ".csv", csv.str());

  // Two panels side by side: loss (train, test) and accuracy (train, test) against the epoch.
  constexpr double W = 900, H = 360, pad_l = 60, pad_r = 20, pad_t = 50, pad_b = 45, gap = 70;
  const double pw = (W - pad_l - pad_r - gap) / 2, ph = H - pad_t - pad_b;
  const double max_epoch = records.empty() ? 1 : double(std::max<uint64_t>(records.back().epoch, 2));
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << title << "</text>\n";
  struct Series {
    double EpochRecord::*field;
    const char* name;
    const char* color;
  };
  auto panel = [&](double x0, const char* ylabel, std::vector<Series> series, bool percent) {
    double lo = 1e300, hi = -1e300;
    for (const auto& s : series) {
      for (const auto& r : records) {
        const double v = r.*s.field * (percent ? 100 : 1);
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) hi = lo + 1;
    const double margin = 0.05 * (hi - lo);
    lo -= margin;
    hi += margin;
    auto X = [&](double e) { return x0 + (e - 1) / (max_epoch - 1) * pw; };
    auto Y = [&](double v) { return pad_t + (hi - v) / (hi - lo) * ph; };
    svg << "<rect x=\"" << x0 << "\" y=\"" << pad_t << "\" width=\"" << pw << "\" height=\"" << ph
        << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (int t = 0; t <= 4; ++t) {
      const double v = lo + (hi - lo) * t / 4;
      char label[32];
      std::snprintf(label, sizeof label, percent ? "%.1f" : "%.3f", v);
      svg << "<line x1=\"" << x0 << "\" x2=\"" << x0 + pw << "\" y1=\"" << Y(v) << "\" y2=\"" << Y(v)
          << "\" stroke=\"#ddd\"/><text x=\"" << x0 - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">" << label
          << "</text>\n";
    }
    const uint64_t step = std::max<uint64_t>(1, uint64_t(max_epoch) / 10);
    for (uint64_t e = 1; e <= uint64_t(max_epoch); e += step) {
      svg << "<text x=\"" << X(double(e)) << "\" y=\"" << pad_t + ph + 16 << "\" text-anchor=\"middle\">" << e
          << "</text>\n";
    }
    svg << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">epoch</text>\n"
        << "<text x=\"" << x0 + 8 << "\" y=\"" << pad_t - 8 << "\">" << ylabel << "</text>\n";
    double legend_x = x0 + pw - 150;
    for (const auto& s : series) {
      svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\"";
      for (const auto& r : records) svg << X(double(r.epoch)) << ',' << Y(r.*s.field * (percent ? 100 : 1)) << ' ';
      svg << "\"/>\n";
      for (const auto& r : records) {
        svg << "<circle cx=\"" << X(double(r.epoch)) << "\" cy=\"" << Y(r.*s.field * (percent ? 100 : 1))
            << "\" r=\"2.5\" fill=\"" << s.color << "\"/>\n";
      }
      svg << "<rect x=\"" << legend_x << "\" y=\"" << pad_t - 18 << "\" width=\"12\" height=\"3\" fill=\"" << s.color
          << "\"/><text x=\"" << legend_x + 16 << "\" y=\"" << pad_t - 13 << "\">" << s.name << "</text>\n";
      legend_x += 75;
    }
  };
  panel(pad_l, "loss", {{&EpochRecord::train_loss, "train", "#1f77b4"}, {&EpochRecord::test_loss, "test", "#d62728"}},
        false);
  panel(pad_l + pw + gap, "accuracy (%)",
        {{&EpochRecord::train_accuracy, "train", "#1f77b4"}, {&EpochRecord::test_accuracy, "test", "#d62728"}}, true);
  svg << "</svg>\n";
  write_file(prefix.string() + ".svg", svg.str());
}

std::string sparsity_report(const std::vector<vkgrad::nn::LayerSparsity>& layers, float eps) {
  std::ostringstream s;
  char line[200];
  std::snprintf(line, sizeof line, "%-6s %-22s %8s %10s %12s  %s\n", "layer", "activation", "units", "zeros",
                "|y| <= eps", "dead units (zero for every test sample)");
  s << line;
  for (const auto& l : layers) {
    std::snprintf(line, sizeof line, "%-6zu %-22s %8llu %9.2f%% %11.2f%%  %llu (%.1f%%)\n", l.layer, l.module.c_str(),
                  (unsigned long long)l.stats.features, 100 * l.stats.zero_fraction, 100 * l.stats.near_zero_fraction,
                  (unsigned long long)l.stats.dead_count,
                  100.0 * double(l.stats.dead_count) / double(std::max<uint64_t>(l.stats.features, 1)));
    s << line;
  }
  std::snprintf(line, sizeof line, "(eps = %g; measured over the whole test set in eval mode)\n", double(eps));
  s << line;
  return s.str();
}

}  // namespace mnist
