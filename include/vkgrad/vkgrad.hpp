/// \file
/// vkgrad: neural-network training on any GPU through Vulkan compute. The umbrella header.
#pragma once

#include "vkgrad/activation.hpp"
#include "vkgrad/batchnorm.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/data.hpp"
#include "vkgrad/dropout.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/idx.hpp"
#include "vkgrad/init.hpp"
#include "vkgrad/linear.hpp"
#include "vkgrad/loss.hpp"
#include "vkgrad/metrics.hpp"
#include "vkgrad/nn.hpp"
#include "vkgrad/optim.hpp"
#include "vkgrad/reduce.hpp"
#include "vkgrad/sparsity.hpp"
#include "vkgrad/tensor.hpp"
