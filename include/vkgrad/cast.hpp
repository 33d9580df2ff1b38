/// \file
/// Conversion between f32 and f16 (IEEE 754 binary16) tensors on the device.
///
/// f16 is a storage format in vkgrad: half the bytes of f32 for weights and activations that
/// tolerate 11 significant bits. gemm, linear_forward and linear_backward read f16 matrix inputs
/// directly (accumulating in f32); every other op takes f32, so convert with cast first. The device computes the same
/// bits as the host's to_half / to_float (vkgrad/tensor.hpp) on every device: round to nearest, ties to even, beyond
/// ±65504 (from 65520 on) to ±inf, NaN kept (quiet); no 16-bit device feature is needed.
#pragma once

#include "vkgrad/command.hpp"
#include "vkgrad/tensor.hpp"

namespace vkgrad {

/// Records dst = src converted element by element: f32 → f16 or f16 → f32. src and dst must have the
/// same shape and be different tensors; any other pair of dtypes (including the same dtype twice)
/// throws InvalidArgument.
void cast(CommandList& cmd, const Tensor& src, Tensor& dst);

}  // namespace vkgrad
