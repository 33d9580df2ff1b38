// data_ref.hpp — CPU references of the batch-assembly ops (include/vkgrad/data.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkgrad::ref {

// src: (rows, features) of T; index: batch; returns (batch, features) = src[index[b], f]·scale + shift,
// NaN rows for an index outside [0, rows).
template <class T>
std::vector<double> gather_rows(const std::vector<T>& src, std::size_t rows, std::size_t features,
                                const std::vector<int32_t>& index, double scale, double shift);

// labels: rows of T; returns labels[index[b]], or -1 for an index outside [0, rows).
template <class T>
std::vector<int32_t> gather_labels(const std::vector<T>& labels, const std::vector<int32_t>& index);

// labels: N; returns (N, classes) with on at the label's column and off elsewhere, NaN rows for a
// label outside [0, classes).
std::vector<double> one_hot(const std::vector<int32_t>& labels, std::size_t classes, double on, double off);

}  // namespace vkgrad::ref
