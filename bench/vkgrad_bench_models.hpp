// vkgrad_bench's whole-model modes, which run instead of the op table (bench/vkgrad_bench.cpp):
// --training-step and --inference-memory.
#pragma once

#include <string>
#include <vkgrad/vkgrad.hpp>

namespace vkgrad_bench {

/// One training step of the README's MNIST model, recorded once with timestamps and replayed:
/// GPU time per dispatch label (median over `repeat` replays), printed and, when `json_path` is not
/// empty, written as JSON. Returns the exit code (0).
int training_step_breakdown(vkgrad::Context& ctx, int repeat, const std::string& json_path);

/// Device memory held by a 784-256-128-10 model after inference over every batch size 1..256,
/// against what the largest batch alone needs. Returns the exit code: 1 when Sequential::predict
/// holds more than twice that.
int inference_memory(vkgrad::Context& ctx, const std::string& json_path);

}  // namespace vkgrad_bench
