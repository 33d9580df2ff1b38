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

/// Limits applied while reading IDX files.
struct IdxLimits {
  /// The largest payload accepted (after decompression), so a corrupt header cannot request an
  /// absurd allocation. 1 GiB holds MNIST-sized sets many times over.
  uint64_t max_bytes = uint64_t(1) << 30;
};

/// An unsigned-byte IDX array: dims (1 to 4 of them, each >= 1) and row-major data.
struct IdxArray {
  /// The sizes from the header, outermost first.
  std::vector<uint64_t> dims;
  /// The product of dims bytes, row-major.
  std::vector<uint8_t> data;
};

/// Reads an IDX file of unsigned bytes (type 0x08), raw or gzip-compressed (detected from the
/// content, not the name). Throws InvalidArgument naming the file and the problem: not found,
/// bad magic, another element type, 0 or more than 4 dimensions, a zero dimension, a payload
/// larger than limits.max_bytes, truncated data, trailing bytes, a corrupt gzip stream.
IdxArray read_idx(const std::filesystem::path& path, const IdxLimits& limits = {});

/// Writes an unsigned-byte IDX file (gzip-compressed when `gzip`), replacing `path`. Throws
/// InvalidArgument unless there are 1 to 4 dims, each in [1, 2^32), whose product is data.size();
/// Error naming the path when the file cannot be created or written.
void write_idx(const std::filesystem::path& path, std::span<const uint64_t> dims, std::span<const uint8_t> data,
               bool gzip = false);

/// Images with one label each.
struct LabeledImages {
  /// Image height (rows) and width (cols) in pixels.
  ///@{
  uint64_t rows = 0, cols = 0;  ///< image height and width
  ///@}
  std::vector<uint8_t> images;  ///< count · rows · cols pixels
  std::vector<uint8_t> labels;  ///< count labels
  uint32_t classes = 0;         ///< largest label + 1
  /// Number of images (one label each).
  uint64_t count() const { return labels.size(); }
  /// Pixels per image, rows · cols.
  uint64_t features() const { return rows * cols; }
};

/// Reads an images file (count, rows, cols) and a labels file (count) and checks they belong
/// together (same count). Throws InvalidArgument naming the file for anything read_idx refuses,
/// images that are not 3-D or labels not 1-D, different counts, and labels >= max_classes.
LabeledImages load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                            uint32_t max_classes = 256, const IdxLimits& limits = {});

/// A training and a test split.
struct IdxDataset {
  /// The training split (train-*) and the test split (t10k-*).
  ///@{
  LabeledImages train, test;
  ///@}
};

/// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte from `dir`, each raw or with a .gz suffix; a missing file is an
/// InvalidArgument naming the directory and the file names looked for. Each pair is read as
/// load_idx_pair (default IdxLimits); the two splits must have the same image size.
IdxDataset load_idx_dataset(const std::filesystem::path& dir, uint32_t max_classes = 256);

}  // namespace vkgrad
