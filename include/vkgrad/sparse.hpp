/// \file
/// Sparse connections at inference: a weight matrix with most entries exactly zero, kept on the
/// device in a compressed form (SparseMatrix), and nn.Linear's forward pass over it
/// (sparse_linear_forward), which multiplies only the stored entries.
///
/// Structural zeros. An entry is stored unless it is +0.0f or −0.0f (x == 0.0f, as PyTorch's
/// to_sparse decides): a pruning mask applied by multiplication leaves −0.0 where a negative weight
/// was, and it is as pruned as +0.0. NaN, ±inf and denormals are stored. sparse_linear_forward skips
/// every structural zero, as PyTorch's sparse matmul does: where X holds ±inf or NaN in a column
/// whose weight is a structural zero, dense linear_forward computes 0 · inf = NaN (or NaN · 0 = NaN)
/// for that product and the output is NaN, while the sparse product leaves it out and the output
/// is the sum of the other products. NaN or ±inf in X meeting a stored weight, and NaN or ±inf
/// stored in W, propagate exactly as in the dense product.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vkgrad/activation.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// How a SparseMatrix lays out its stored entries on the device.
enum class SparseFormat : uint32_t {
  /// Compressed sparse rows: row_offsets() (i32, rows + 1) with row r's entries at
  /// [row_offsets[r], row_offsets[r + 1]) of column_indices() (i32) and values() (f32), columns
  /// ascending within a row; exactly nnz entries.
  csr,
  /// ELLPACK: every row padded to the longest row's length (width), stored column-major: entry k of
  /// row r at k · rows + r of column_indices() and values(), row_offsets() (i32, rows) holding each
  /// row's own length (the padding is never read). rows · width entries, so it costs more memory
  /// than CSR when row lengths vary; consecutive rows' k-th entries are adjacent, so the threads of
  /// a workgroup, one per output feature, read them together.
  ell,
};

/// "csr" or "ell".
const char* to_string(SparseFormat format);

/// A (rows × cols) f32 weight matrix in device memory, compressed to its nonzero entries (see the
/// file comment for what counts as zero). Shapes follow linear_forward's W: rows = out_features,
/// cols = in_features. Immutable once built; move-only (it holds tensors). Build a new one when the
/// weights or the mask change.
class SparseMatrix {
 public:
  /// An empty matrix: only assigning to it and empty() are useful.
  SparseMatrix() = default;

  /// The sparse form of W (a 2-D f32 tensor on `context`). Synchronous: W is downloaded (waiting for
  /// the work submitted before), compressed on the host in one pass over its elements, and the
  /// arrays are uploaded; bench/RESULTS.md gives its cost. Throws InvalidArgument when W is empty,
  /// not 2-D, not f32 or of another Context; UnsupportedError when the format's arrays would hold
  /// 2^31 or more entries.
  static SparseMatrix from_dense(Context& context, const Tensor& W, SparseFormat format = SparseFormat::csr);
  /// As from_dense(Context&, const Tensor&, SparseFormat), from a host copy of a row-major
  /// rows × cols matrix (dense.size() must be rows · cols, rows, cols >= 1, else InvalidArgument).
  static SparseMatrix from_host(Context& context, uint64_t rows, uint64_t cols, std::span<const float> dense,
                                SparseFormat format = SparseFormat::csr);

  /// Writes the dense matrix into `W` (f32, rows × cols, of this matrix's Context), with +0.0f
  /// wherever no entry is stored: from_dense followed by to_dense gives the input back bit for bit,
  /// except that −0.0 comes back as +0.0. Synchronous (an upload). InvalidArgument on a mismatch.
  void to_dense(Tensor& W) const;
  /// The dense matrix on the host, row-major (as to_dense).
  std::vector<float> to_host() const;

  /// The Context it was built on, which must outlive it (as for nn modules): sparse_linear_forward
  /// allocates its scratch there.
  Context& context() const { return *context_; }
  /// True for a default-constructed or moved-from matrix.
  bool empty() const { return values_.empty(); }
  /// The layout of the stored entries.
  SparseFormat format() const { return format_; }
  /// out_features.
  uint64_t rows() const { return rows_; }
  /// in_features.
  uint64_t cols() const { return cols_; }
  /// Stored (nonzero) entries.
  uint64_t nnz() const { return nnz_; }
  /// nnz / (rows · cols).
  double density() const { return static_cast<double>(nnz_) / static_cast<double>(rows_ * cols_); }
  /// ELL: the longest row's length, the padded row length; CSR: the same number, for reference.
  uint64_t max_row_nnz() const { return max_row_nnz_; }
  /// Device bytes of the three arrays.
  uint64_t size_bytes() const;
  /// The device arrays (see SparseFormat). column_indices() and values() hold at least one element
  /// (a matrix without nonzeros stores a single unused zero entry).
  ///@{
  const Tensor& row_offsets() const { return row_offsets_; }
  const Tensor& column_indices() const { return column_indices_; }
  const Tensor& values() const { return values_; }
  ///@}

 private:
  Context* context_ = nullptr;
  SparseFormat format_ = SparseFormat::csr;
  uint64_t rows_ = 0, cols_ = 0, nnz_ = 0, max_row_nnz_ = 0;
  Tensor row_offsets_, column_indices_, values_;
};

/// nn.Linear followed by an activation over a sparse weight: Y = act(X · Wᵀ + b), as linear_forward
/// with W = the dense form of `W`, in one dispatch; on the cpu kernel set, where every input meets
/// at least 20 stored weights on average (nnz ≥ 20 · in_features) and N ≥ 8, in two: X is first
/// transposed into a scratch tensor (N · in_features floats on W's Context, allocated at recording
/// and kept by the command list).
///
/// Shapes (PyTorch layout): X (N × in_features) f32, W (out_features × in_features) a SparseMatrix,
/// b (out_features) f32 or an empty Tensor for no bias, Y (N × out_features) f32. The bias add and
/// the activation (any row of the activation table, with its parameters and optional sparse
/// threshold) are applied as linear_forward applies them. Each output sums its row's stored
/// products in ascending column order in f32. Structural zeros are skipped (the file comment says
/// where that differs from the dense product: ±inf or NaN in X meeting a pruned weight). An output
/// feature with no stored entries gives act(b). Y is overwritten and must not be X or b.
/// Throws InvalidArgument, naming every shape, on a shape mismatch, a non-f32 X, b or Y (f16 X is
/// refused: convert it with cast first), an empty W, or tensors or a W of another Context.
void sparse_linear_forward(CommandList& cmd, const Tensor& X, const SparseMatrix& W, const Tensor& b, Tensor& Y,
                           const ActivationSpec& act = Activation::identity);

/// Whether sparse_linear_forward is expected to be faster than linear_forward for an
/// (rows × in) · (in → out) product whose weight has the given density (nonzeros / (out · in)), on
/// this context's kernel set: true when density <= sparse_crossover_density(context, rows, in, out).
/// A caller with its own measurement decides for itself; this is the library's default.
bool sparse_is_faster(const Context& context, uint64_t rows, uint64_t in, uint64_t out, double density);

/// The density at or below which sparse_linear_forward (CSR) beat linear_forward in the
/// measurements of bench/RESULTS.md (bench/sparse_bench.cpp: batches 1, 128 and 1024, the MNIST
/// layers 784→512, 512→256 and 256→10, densities 0.5, 0.2, 0.1, 0.05 and 0.02) on this context's
/// kernel set, for the measured batch and layer nearest to rows and in · out weights (on a log
/// scale); 0 where sparse never won, and 0 on devices other than CPUs, where no measurement has
/// been made yet. VKGRAD_SPARSE_CROSSOVER (a density in [0, 1]) overrides it for
/// every shape; a malformed value throws InvalidArgument.
double sparse_crossover_density(const Context& context, uint64_t rows, uint64_t in, uint64_t out);

}  // namespace vkgrad
