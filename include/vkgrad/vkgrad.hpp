/// \file
/// vkgrad: neural-network training on any GPU through Vulkan compute. The umbrella header.
#pragma once

#include "vkgrad/activation.hpp"
#include "vkgrad/batchnorm.hpp"
#include "vkgrad/cast.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/data.hpp"
#include "vkgrad/dropout.hpp"
#include "vkgrad/elementwise.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/idx.hpp"
#include "vkgrad/init.hpp"
#include "vkgrad/interop.hpp"
#include "vkgrad/linear.hpp"
#include "vkgrad/loss.hpp"
#include "vkgrad/mask.hpp"
#include "vkgrad/metrics.hpp"
#include "vkgrad/nn.hpp"
#include "vkgrad/optim.hpp"
#include "vkgrad/reduce.hpp"
#include "vkgrad/sparse.hpp"
#include "vkgrad/sparsity.hpp"
#include "vkgrad/tensor.hpp"

/// \namespace vkgrad
/// The whole public API (the nn layer is in vkgrad::nn). Conventions shared by every op:
/// - An op is a free function whose first argument is a CommandList: it records work, which runs
///   when the list is submitted (and again at every later submission). Host-side calls (Tensor
///   upload / download / fill, to_host, check_labels) are synchronous instead: they wait for the
///   work submitted before them.
/// - Arguments are checked when an op is recorded; a mistake (a shape, a dtype, an empty tensor, a
///   tensor of another Context) throws InvalidArgument naming the op, the tensor and the shapes.
/// - Outputs are OVERWRITTEN, except where a function says it updates a tensor in place
///   (parameters and optimizer state, clipped gradients, BatchNorm's running statistics, step
///   counters) or adds into it (the `*_accumulate` penalties, accumulate_metrics, linear_backward
///   with accumulate).
/// - Reductions are deterministic: a fixed summation order, no float atomics.
/// - Thread safety: see Context.

/// \namespace vkgrad::nn
/// Modules, losses, optimizers and the Trainer, with PyTorch's names and defaults (see nn.hpp).
