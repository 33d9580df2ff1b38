#!/usr/bin/env bash
# The main job. Until the MNIST trainer lands (issue: nn API and sample trainer), it builds vkgrad
# and runs the README's example on the best Vulkan device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target readme_example
"$build/tests/readme_example"
