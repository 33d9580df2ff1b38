/// \file
/// Pruned models at inference and on disk: compressing the Linear weights of a model for sparse
/// inference (Linear::compress_weight for every layer), saving and loading a model with its sparse
/// weights in PyTorch's CSR layout, and the weight-sparsity report. Included by vkgrad/nn.hpp.
///
/// Sparse inference. After compress_weights(model), Sequential::predict (and forward() in eval
/// mode) multiplies each compressed Linear's input by its SparseMatrix (sparse_linear_forward)
/// wherever sparse_is_faster says so for that batch, and by the dense W elsewhere. The logits match
/// the dense ones within the error of an f32 sum: each output sums the same nonzero products in
/// another order, and leaves out the products with a zero weight (exactly 0 for finite inputs).
/// Where an input is ±inf or NaN and meets a zero weight, the dense output is NaN and the sparse
/// one is not (vkgrad/sparse.hpp's file comment). The compressed weights are snapshots: see
/// Linear::compress_weight for when they are dropped and when a caller must compress again.
///
/// CSR files (save_sparse). A safetensors file holding the model's state_dict in which each Linear
/// weight stored sparse is replaced by the three tensors of torch.sparse_csr_tensor, under the
/// weight's name plus a suffix:
///  - "<name>.crow_indices": I32 (rows + 1; I64 from 2^31 entries), row r's entries at
///    [crow[r], crow[r + 1]);
///  - "<name>.col_indices": I16 when in_features <= 32768 (every column fits), else I32 (nnz),
///    ascending in each row;
///  - "<name>.values": F32 (nnz), the nonzero weights in row-major order;
/// and the metadata entry "sparse_csr.<name>" = "[out_features, in_features]" (the dense shape).
/// Every other tensor is stored as in Sequential::state_dict. PyTorch rebuilds the weight with
/// torch.sparse_csr_tensor(crow.long(), col.long(), values, shape).to_dense() (the script
/// bench/sparse_csr_pytorch.py loads such a file into torch.nn.Sequential with strict=True).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vkgrad/nn/module.hpp"
#include "vkgrad/safetensors.hpp"
#include "vkgrad/sparse.hpp"

namespace vkgrad::nn {

/// Calls compress_weight(format) on every Linear of `model`, those inside nested Sequentials and
/// Residuals included, and returns how many it compressed. Synchronous (waits for the work
/// submitted before). Compress after training and pruning, before predict; CSR and ELL measured
/// alike on lavapipe (bench/RESULTS.md), so CSR is the default.
std::size_t compress_weights(Module& model, SparseFormat format = SparseFormat::csr);
/// Drops the compressed weight of every Linear of `model` (nested ones included) and returns how
/// many it dropped.
std::size_t drop_compressed_weights(Module& model);

/// Options of save_sparse.
struct SparseSaveOptions {
  /// A Linear weight is stored as CSR when its density (nonzeros / elements) is at most this and
  /// the CSR tensors take fewer bytes than the dense one; 1 stores every weight that CSR makes
  /// smaller, 0 only all-zero ones.
  double max_density = 0.5;
  /// More "__metadata__" entries; the keys "format" and "sparse_csr.*" are the file's own.
  std::map<std::string, std::string> metadata;
};

/// Writes `model`'s state_dict to `path` (atomically, as save_safetensors) with the sparse Linear
/// weights in CSR (see the file comment) and the metadata "format" = "pt". Downloads (waits for
/// the device). InvalidArgument for a max_density outside [0, 1] or a reserved metadata key.
void save_sparse(Sequential& model, const std::filesystem::path& path, const SparseSaveOptions& options = {});

/// Reads a file written by save_sparse (or any safetensors file: one without "sparse_csr.*"
/// entries is returned as it is) and returns the dense state_dict, in the file's order with each
/// CSR triple replaced by the dense weight at the place of its crow_indices: every stored value
/// at its place, +0.0 everywhere else, so a weight saved by save_sparse comes back bit for bit
/// (−0.0 weights as +0.0). Refuses with InvalidArgument naming the tensor and the problem: a
/// missing or unexpected part of a triple, a dense shape that is not two positive integers,
/// dtypes other than those above (I64 indices are accepted too), crow_indices not starting at 0,
/// decreasing or not ending at nnz, columns out of range or not strictly ascending in a row, and
/// a dense shape of more than 2^32 elements, and everything load_safetensors refuses (a truncated
/// file among them).
std::vector<std::pair<std::string, HostTensor>> load_sparse_state_dict(const std::filesystem::path& path);

/// Loads a file written by save_sparse into `model`: load_sparse_state_dict then
/// Sequential::load_state_dict, so on any error nothing is changed.
void load_sparse(Sequential& model, const std::filesystem::path& path);

/// Zero weights of one Linear, as counted by weight_sparsity.
struct WeightSparsity {
  /// The weight's state_dict name ("0.weight", "2.fn.1.weight").
  std::string name;
  /// out_features · in_features.
  uint64_t elements = 0;
  /// Weights equal to 0 (+0.0 or −0.0, as SparseMatrix counts them).
  uint64_t zeros = 0;
  /// zeros / elements.
  double sparsity() const { return elements == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(elements); }
};

/// weight_sparsity's result: one entry per Linear in state_dict order, and their sum.
struct WeightSparsityReport {
  std::vector<WeightSparsity> layers;
  /// name "total": the sums of elements and zeros over `layers`.
  WeightSparsity total;
};

/// Counts the zero weights of every Linear of `model` (nested ones included). Downloads the
/// weights (waits for the device).
WeightSparsityReport weight_sparsity(Sequential& model);

/// The report as a table, one line per Linear and one for the total:
///   weight       elements      zeros  sparsity
///   0.weight       401408     361267    90.00%
std::string format_weight_sparsity(const WeightSparsityReport& report);

}  // namespace vkgrad::nn
