/// \file
/// The nn API: modules, losses and optimizers with PyTorch's names and defaults, built on the ops of
/// the other headers, and a Trainer that records one training step (batch gather → forward → loss →
/// backward → optimizer update → metrics) into a command list once and replays it for every batch.
///
/// \code
///   vkgrad::Context ctx;
///   vkgrad::nn::Sequential model(ctx);
///   model.emplace<vkgrad::nn::Linear>(784, 512);
///   model.emplace<vkgrad::nn::BatchNorm1d>(512);
///   model.emplace<vkgrad::nn::Activation>(vkgrad::Activation::relu);
///   model.emplace<vkgrad::nn::Dropout>(0.2f);
///   model.emplace<vkgrad::nn::Linear>(512, 10);
///   vkgrad::CommandList init(ctx);
///   model.reset_parameters(init, /*seed=*/1);
///   init.run();
///   vkgrad::nn::Adam opt(model, {.lr = 1e-3f});
/// \endcode
///
/// Activations are (rows, features) f32 tensors. Mode (train / eval) is read when a pass is
/// RECORDED: a recorded command list keeps the mode it was recorded in.
#pragma once

#include "vkgrad/nn/module.hpp"
#include "vkgrad/nn/loss.hpp"
#include "vkgrad/nn/optim.hpp"
#include "vkgrad/nn/prune.hpp"
#include "vkgrad/nn/sparse.hpp"
#include "vkgrad/nn/sync_batchnorm.hpp"
#include "vkgrad/nn/trainer.hpp"
