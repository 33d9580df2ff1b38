/// \file
/// Datasets in the IDX format of MNIST and Fashion-MNIST (big-endian header: two zero bytes, the
/// element type, the number of dimensions, one 32-bit size per dimension; then the data), read raw or
/// gzip-compressed. Every size in a header is checked before anything is allocated or read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace vkgrad {

struct IdxLimits {
  /// The largest payload accepted (after decompression), so a corrupt header cannot request an
  /// absurd allocation. 1 GiB holds MNIST-sized sets many times over.
  uint64_t max_bytes = uint64_t(1) << 30;
};

/// An unsigned-byte IDX array: dims (1 to 4 of them, each >= 1) and row-major data.
struct IdxArray {
  std::vector<uint64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads an IDX file of unsigned bytes (type 0x08), raw or gzip-compressed (detected from the
/// content, not the name). Throws InvalidArgument naming the file and the problem: not found,
/// bad magic, another element type, 0 or more than 4 dimensions, a zero dimension, a payload
/// larger than limits.max_bytes, truncated data, trailing bytes, a corrupt gzip stream.
IdxArray read_idx(const std::filesystem::path& path, const IdxLimits& limits = {});

/// Writes an unsigned-byte IDX file (gzip-compressed when `gzip`). data.size() must equal the
/// product of dims.
void write_idx(const std::filesystem::path& path, std::span<const uint64_t> dims, std::span<const uint8_t> data,
               bool gzip = false);

/// Images with one label each.
struct LabeledImages {
  uint64_t rows = 0, cols = 0;   ///< image height and width
  std::vector<uint8_t> images;   ///< count · rows · cols pixels
  std::vector<uint8_t> labels;   ///< count labels
  uint32_t classes = 0;          ///< largest label + 1
  uint64_t count() const { return labels.size(); }
  uint64_t features() const { return rows * cols; }
};

/// Reads an images file (count, rows, cols) and a labels file (count) and checks they belong
/// together (same count). Labels >= max_classes are refused.
LabeledImages load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                            uint32_t max_classes = 256, const IdxLimits& limits = {});

/// A training and a test split.
struct IdxDataset {
  LabeledImages train, test;
};

/// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte from `dir`, each raw or with a .gz suffix; a missing file is an
/// InvalidArgument naming the directory and the file names looked for.
IdxDataset load_idx_dataset(const std::filesystem::path& dir, uint32_t max_classes = 256);

}  // namespace vkgrad
