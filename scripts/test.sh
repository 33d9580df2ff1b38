#!/usr/bin/env bash
# Installs what is missing, builds vkgrad (Release) and runs the whole test suite under the Khronos
# validation layer with synchronization validation, after fuzzing the file readers for a bounded
# time (scripts/fuzz.sh). Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
# The file readers' fuzz targets for a bounded time (VKGRAD_FUZZ_SECONDS per target; 0 skips),
# before CTest so that its summary stays the last output.
fuzz_seconds=${VKGRAD_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
export VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1}
# Tests share one machine-wide pipeline cache only if asked to; keep runs independent.
export VKGRAD_CACHE_DIR=${VKGRAD_CACHE_DIR:-$PWD/$build/cache}
ctest --test-dir "$build" -j "$jobs" --output-on-failure "$@"
