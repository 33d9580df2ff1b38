#!/usr/bin/env bash
# Installs what is missing, builds vkgrad (Release) and runs the whole test suite under the Khronos
# validation layer with synchronization validation. Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
export VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1}
# Tests share one machine-wide pipeline cache only if asked to; keep runs independent.
export VKGRAD_CACHE_DIR=${VKGRAD_CACHE_DIR:-$PWD/$build/cache}
ctest --test-dir "$build" -j "$jobs" --output-on-failure "$@"
