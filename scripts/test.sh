#!/usr/bin/env bash
# Installs what is missing, builds vkgrad (Release) and runs the whole test suite under the Khronos
# validation layer with synchronization validation, after fuzzing the file readers for a bounded
# time (scripts/fuzz.sh) and running the suite once more built with AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer (scripts/sanitize.sh). Usage: scripts/test.sh [ctest arguments...]
# (they go to both suites).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
# The file readers' fuzz targets for a bounded time (VKGRAD_FUZZ_SECONDS per target; 0 skips),
# and the suite under the sanitizers (VKGRAD_SANITIZERS=0 skips), before the main suite so that
# its summary stays the last output. A sanitizer failure does not stop the main suite.
fuzz_seconds=${VKGRAD_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
sanitizers=skipped
if [ "${VKGRAD_SANITIZERS:-1}" != 0 ]; then
  echo "== the test suite under AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer"
  if scripts/sanitize.sh "$@"; then sanitizers=passed; else sanitizers=failed; fi
  echo "== the test suite"
fi
export VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1}
# Tests share one machine-wide pipeline cache only if asked to; keep runs independent.
export VKGRAD_CACHE_DIR=${VKGRAD_CACHE_DIR:-$PWD/$build/cache}
status=0
ctest --test-dir "$build" -j "$jobs" --output-on-failure "$@" || status=$?
echo "Under the sanitizers (scripts/sanitize.sh): $sanitizers"
if [ "$sanitizers" = failed ]; then
  [ "$status" != 0 ] || status=1
fi
exit "$status"
