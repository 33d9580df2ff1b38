#!/usr/bin/env bash
# Builds the library and the tests with AddressSanitizer (LeakSanitizer included) and
# UndefinedBehaviorSanitizer (CMake option VKGRAD_SANITIZE) in a second build tree and runs the test
# suite there, under the validation layer as scripts/test.sh does. A memory error, a leak or undefined
# behaviour fails the test it happens in. Only leaks inside the Vulkan driver, the validation layer or
# the loader may be suppressed (tests/sanitize/lsan.supp says which and why); lavapipe itself is not
# instrumented. Usage: scripts/sanitize.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${VKGRAD_ASAN_BUILD_DIR:-build-asan}
jobs=$(nproc)
# -O1 rather than the Release -O3: the instrumented build takes about half the compile time and
# the suite runs about as fast, since most of its time is spent in the (uninstrumented) driver.
# Asserts stay on. Only what the suite runs is built: no benchmark, no MNIST trainer (the interop
# sample is a test). Every source is its own translation unit (no unity build), so that the
# initialization-order checks below see each source's globals as its own module.
start=$SECONDS
# VKGRAD_SPIRV_FROM (cmake/VkgradShaders.cmake): a build tree of this checkout whose SPIR-V modules
# are embedded rather than compiled again (scripts/test.sh passes its own); empty: compiled here.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DVKGRAD_SANITIZE=ON \
  -DVKGRAD_BUILD_BENCH=OFF -DVKGRAD_UNITY_BUILD=OFF -DVKGRAD_SPIRV_FROM="${VKGRAD_SPIRV_FROM:-}" >/dev/null
cmake --build "$build" -j "$jobs" --target vkgrad_tests readme_example readme_regression_example readme_prune_example \
  readme_interop_example vkgrad-info vkgrad-interop math_glsl_accuracy
echo "sanitizers: built in $((SECONDS - start)) s"
start=$SECONDS

export VKGRAD_VALIDATION=${VKGRAD_VALIDATION:-1}
export VKGRAD_CACHE_DIR=${VKGRAD_CACHE_DIR:-$PWD/$build/cache}
# Leaks are checked at every test process's exit (detect_leaks, LeakSanitizer); options given in the
# environment come last and win.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Tests labelled no_sanitizer are not run here (tests/CMakeLists.txt says why for each), nor the
# width4:, stripped: and apple-m1: copies (labels width4, inf_nan_stripped, device_profile):
# scripts/test.sh runs this suite on the GPU kernels already, the copies run the same host code with
# other kernels or other device limits, and the Release runs of scripts/test.sh run them; nor the one
# test that needs an RLIMIT_AS: the sanitizers reserve terabytes of address space (the test skips
# itself in such a build; leaving it out keeps it from counting as passed). Nor the MPI tests (label
# mpi; not built here): OpenMPI 4.1 leaves allocations behind after MPI_Finalize (in libmpi's op
# selection, mca_op_avx, libpmix and libopen-pal), among them a 13-byte vasprintf whose stack ends
# in an unnamed frame of an uninstrumented library, which no suppression by library name can match
# without hiding every vasprintf leak. Built with the sanitizers and run by hand, they pass with no
# other report.
status=0
ctest --test-dir "$build" -j "$jobs" --label-exclude "no_sanitizer|width4|inf_nan_stripped|device_profile|mpi" \
  --exclude-regex "^when the driver itself refuses device memory" --output-on-failure "$@" || status=$?
echo "sanitizers: the suite ran in $((SECONDS - start)) s"
exit "$status"
