#!/usr/bin/env bash
# Installs what is missing, builds vkgrad (Release) and runs the whole test suite under the Khronos
# validation layer with synchronization validation twice: with the default kernel set (on a CPU
# device such as lavapipe, the CPU specialisation; the run includes the conformance and nn tests on
# the GPU kernels at subgroup width 4, the "width4:" tests) and with VKGRAD_KERNELS=gpu, the kernels
# GPUs run. Before that it fuzzes the file readers for a bounded time (scripts/fuzz.sh) and runs the
# suite on the GPU kernels built with AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitize.sh), builds the library and the tests with clang too (a short run of them), and
# cross-builds them for Windows and runs them under wine (scripts/windows.sh).
# Usage: scripts/test.sh [ctest arguments...] (they go to every run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_BUILD_DIR:-build}
jobs=$(nproc)
# Each step's wall time, printed at the end: "name: N s".
timings=()
step_start=$SECONDS
timed() { timings+=("$1: $((SECONDS - step_start)) s"); step_start=$SECONDS; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
timed "the Release build"
# The other builds embed this build's SPIR-V modules instead of compiling and validating every shader
# again (VKGRAD_SPIRV_FROM, cmake/VkgradShaders.cmake): the modules depend only on the shader sources.
export VKGRAD_SPIRV_FROM; VKGRAD_SPIRV_FROM=$(cd "$build" && pwd)
# The library and the tests once more with clang, warnings as errors, and a short run of them.
clang_build=${VKGRAD_CLANG_BUILD_DIR:-build-clang}
echo "== the library and the tests built with clang ($clang_build): device limits, safetensors and IDX tests"
cmake -S . -B "$clang_build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS=-Werror \
  -DVKGRAD_SPIRV_FROM="$VKGRAD_SPIRV_FROM" >/dev/null
cmake --build "$clang_build" -j "$jobs" --target vkgrad_tests
timed "the clang build"
clang=passed
VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1} VKGRAD_CACHE_DIR="$PWD/$clang_build/cache" \
  "$clang_build"/tests/vkgrad_tests "[device_limits],[safetensors],[idx]" || clang=failed
timed "the clang build's tests"
# The library, the tests, vkgrad-info and the MNIST trainer cross-built for Windows and run under
# wine (scripts/windows.sh; VKGRAD_WINDOWS=0 skips).
windows=skipped
if [ "${VKGRAD_WINDOWS:-1}" != 0 ]; then
  echo "== the Windows build (MinGW-w64) under wine: vkgrad-info, the test suite, one epoch of MNIST"
  if scripts/windows.sh; then windows=passed; else windows=failed; fi
  timed "the Windows step (scripts/windows.sh prints its parts)"
fi
# The file readers' fuzz targets for a bounded time (VKGRAD_FUZZ_SECONDS per target; 0 skips),
# and the suite under the sanitizers (VKGRAD_SANITIZERS=0 skips), before the main suite so that
# its summary stays the last output. A sanitizer failure does not stop the main suite.
fuzz_seconds=${VKGRAD_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
  timed "the fuzz targets' build and runs"
fi
sanitizers=skipped
if [ "${VKGRAD_SANITIZERS:-1}" != 0 ]; then
  echo "== the test suite under AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer"
  if VKGRAD_KERNELS=gpu scripts/sanitize.sh "$@"; then sanitizers=passed; else sanitizers=failed; fi
  timed "the sanitizer build and suite (scripts/sanitize.sh prints each)"
fi
export VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1}
# Tests share one machine-wide pipeline cache only if asked to; keep runs independent.
export VKGRAD_CACHE_DIR=${VKGRAD_CACHE_DIR:-$PWD/$build/cache}
status=0
echo "== the test suite on the kernels VKGRAD_KERNELS=gpu selects (tests labelled host_only ran below)"
gpu=passed
VKGRAD_KERNELS=gpu VKGRAD_CACHE_DIR="$VKGRAD_CACHE_DIR/gpu" \
  ctest --test-dir "$build" -j "$jobs" --label-exclude "host_only|width4|device_profile" --output-on-failure "$@" || gpu=failed
timed "the suite on VKGRAD_KERNELS=gpu"
echo "== the test suite on the default kernels, and the width4 tests"
env -u VKGRAD_KERNELS ctest --test-dir "$build" -j "$jobs" --output-on-failure "$@" || status=$?
timed "the suite on the default kernels"
printf 'Time: %s\n' "${timings[@]}"
echo "On VKGRAD_KERNELS=gpu: $gpu"
echo "The clang build's tests: $clang"
echo "The Windows build under wine (scripts/windows.sh): $windows"
echo "Under the sanitizers (scripts/sanitize.sh, VKGRAD_KERNELS=gpu): $sanitizers"
if [ "$gpu" = failed ]; then
  [ "$status" != 0 ] || status=1
fi
if [ "$clang" = failed ]; then
  [ "$status" != 0 ] || status=1
fi
if [ "$windows" = failed ]; then
  [ "$status" != 0 ] || status=1
fi
if [ "$sanitizers" = failed ]; then
  [ "$status" != 0 ] || status=1
fi
exit "$status"
