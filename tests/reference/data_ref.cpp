#include "data_ref.hpp"

#include <limits>

namespace vkgrad::ref {

template <class T>
std::vector<double> gather_rows(const std::vector<T>& src, std::size_t rows, std::size_t features,
                                const std::vector<int32_t>& index, double scale, double shift) {
  std::vector<double> out(index.size() * features);
  for (std::size_t b = 0; b < index.size(); ++b) {
    const bool valid = index[b] >= 0 && std::size_t(index[b]) < rows;
    for (std::size_t f = 0; f < features; ++f) {
      out[b * features + f] = valid ? double(src[std::size_t(index[b]) * features + f]) * scale + shift
                                    : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return out;
}

template <class T>
std::vector<int32_t> gather_labels(const std::vector<T>& labels, const std::vector<int32_t>& index) {
  std::vector<int32_t> out(index.size());
  for (std::size_t b = 0; b < index.size(); ++b) {
    const bool valid = index[b] >= 0 && std::size_t(index[b]) < labels.size();
    out[b] = valid ? int32_t(labels[std::size_t(index[b])]) : -1;
  }
  return out;
}

std::vector<double> one_hot(const std::vector<int32_t>& labels, std::size_t classes, double on, double off) {
  std::vector<double> out(labels.size() * classes);
  for (std::size_t n = 0; n < labels.size(); ++n) {
    const bool valid = labels[n] >= 0 && std::size_t(labels[n]) < classes;
    for (std::size_t c = 0; c < classes; ++c) {
      out[n * classes + c] =
          !valid ? std::numeric_limits<double>::quiet_NaN() : (std::size_t(labels[n]) == c ? on : off);
    }
  }
  return out;
}

template std::vector<double> gather_rows(const std::vector<float>&, std::size_t, std::size_t,
                                         const std::vector<int32_t>&, double, double);
template std::vector<double> gather_rows(const std::vector<uint8_t>&, std::size_t, std::size_t,
                                         const std::vector<int32_t>&, double, double);
template std::vector<int32_t> gather_labels(const std::vector<uint8_t>&, const std::vector<int32_t>&);
template std::vector<int32_t> gather_labels(const std::vector<int32_t>&, const std::vector<int32_t>&);

}  // namespace vkgrad::ref
