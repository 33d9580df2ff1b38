// vkgrad: neural-network training on any GPU through Vulkan compute. The umbrella header.
#pragma once

#include "vkgrad/activation.hpp"
#include "vkgrad/command.hpp"
#include "vkgrad/context.hpp"
#include "vkgrad/error.hpp"
#include "vkgrad/tensor.hpp"
