#!/usr/bin/env bash
# Cross-builds vkgrad for Windows with MinGW-w64 (cmake/mingw-w64.cmake) and runs the Windows
# executables under wine on this machine's Vulkan device: wine's vulkan-1.dll hands the calls to the
# host's Vulkan loader and driver (lavapipe here). Builds the library, the test executable,
# vkgrad-info and the MNIST trainer in $VKGRAD_MINGW_BUILD_DIR (default build-mingw), then, under
# one X server (xvfb-run: wine's Vulkan needs a display) and one wine prefix made in the build
# directory, runs vkgrad-info, the Catch2 suite and one epoch of the MNIST trainer on data/mnist
# (scripts/fetch-data.sh). Exit status 0 when everything passes. Usage: scripts/windows.sh
#
# The suite runs every test case that a plain run of it runs (not the hidden ones, such as the soak
# test; tests/fault_test.cpp is not built for Windows, see
# tests/CMakeLists.txt) except three that cannot work under wine: the two that turn vkgrad's own
# validation on (wine shows the application no layers; the layer runs anyway, below) and the one that
# runs the host's spirv-val on the stripped modules through a POSIX shell. VKGRAD_WINDOWS_TESTS
# replaces that Catch2 test spec.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${VKGRAD_MINGW_BUILD_DIR:-build-mingw}

if [ "${1:-}" != --under-x ]; then
  scripts/install-deps.sh
  scripts/fetch-data.sh >/dev/null
  start=$SECONDS
  # VKGRAD_SPIRV_FROM (cmake/VkgradShaders.cmake): a native build tree of this checkout whose SPIR-V
  # modules the Windows build embeds rather than compiling them again (scripts/test.sh passes its
  # own); empty: they are compiled here.
  cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake -DCMAKE_BUILD_TYPE=Release \
    -DVKGRAD_BUILD_BENCH=OFF -DVKGRAD_SPIRV_FROM="${VKGRAD_SPIRV_FROM:-}" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target vkgrad_tests vkgrad-info vkgrad-mnist
  echo "windows: built in $((SECONDS - start)) s"
  # -a: the first free display number, so that concurrent jobs do not collide.
  exec xvfb-run -a bash "$PWD/scripts/windows.sh" --under-x
fi

start=$SECONDS
build_path=$(cd "$build" && pwd)
# The prefix (wine's C: drive and registry) is made once per build directory; mscoree and mshtml
# are turned off so that wine never offers to install Mono or Gecko, which nothing here uses.
export WINEPREFIX="$build_path/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
# One wineserver for every wine process of this run (-p: it stays up between them), stopped on exit.
mkdir -p "$WINEPREFIX"
wineserver -p
trap 'wineserver -k || true' EXIT
[ -e "$WINEPREFIX/system.reg" ] || wine wineboot -i
echo "windows: wine prefix ready in $((SECONDS - start)) s"
# The tests' pipeline caches and files stay in the build directory (relative paths: wine maps the
# working directory to a drive of its own).
export VKGRAD_CACHE_DIR="$build/cache"
# Validation: wine's vulkan-1.dll shows the application no layers, so VKGRAD_VALIDATION=1 cannot
# enable one. The host's loader still honours VK_INSTANCE_LAYERS, so the Khronos validation layer
# runs inside every instance, with synchronization validation; a settings file makes it print its
# errors, warnings and start-up message ("Khronos Validation Layer Active") on standard output, which
# each step checks. VKGRAD_VALIDATION=0 turns it off.
validation=${VKGRAD_VALIDATION:-1}
if [ "$validation" != 0 ]; then
  settings="$build_path/vk_layer_settings.txt"
  printf '%s\n' "khronos_validation.report_flags = error,warn,info" \
    "khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG" \
    "khronos_validation.enables = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT" >"$settings"
  export VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation VK_LAYER_SETTINGS_PATH="$settings"
fi
export VKGRAD_VALIDATION=0
mkdir -p "$build/logs" "$build/mnist"

status=0
# step NAME LOG COMMAND...: runs the command with its output in LOG, prints that output (without the
# validation layer's start-up messages: seven lines each), and fails the step on a non-zero exit, a
# validation error or warning, or, with validation on, a run the layer never started in.
step() {
  local name=$1 log=$2 t=$SECONDS rc=0
  shift 2
  echo "== windows: $name"
  "$@" >"$log" 2>&1 || rc=$?
  tr -d '\r' <"$log" | awk '/createinstance-status-message/ { skip = 7 } skip > 0 { --skip; next } { print }'
  local problems=()
  [ "$rc" = 0 ] || problems+=("exit status $rc")
  if grep -q "Validation Error\|Validation Warning" "$log"; then problems+=("validation messages (above)"); fi
  if [ "$validation" != 0 ] && ! grep -q "Khronos Validation Layer Active" "$log"; then
    problems+=("the validation layer did not start")
  fi
  if [ ${#problems[@]} = 0 ]; then
    echo "windows: $name passed in $((SECONDS - t)) s"
  else
    echo "windows: $name FAILED after $((SECONDS - t)) s: ${problems[*]}"
    status=1
  fi
}

step "vkgrad-info" "$build/logs/info.txt" wine "$build/samples/info/vkgrad-info.exe"
tests=${VKGRAD_WINDOWS_TESTS-'~[.] ~"validation can be requested explicitly*" ~"the validation callback sees a real*" ~"stripped modules are valid SPIR-V*"'}
spec=()
[ -z "$tests" ] || spec=("$tests")
# The suite in two wine processes at once (much of a test's time is spent in one thread: the
# validation layer, the host side of each op), its test cases dealt to them in turn through Catch2's
# --input-file; each half is a step, and the two must together run every test case listed.
# (Catch2 exits with the number of test cases it listed.)
{ env -u VK_INSTANCE_LAYERS wine "$build/tests/vkgrad_tests.exe" --list-test-names-only "${spec[@]}" || true; } |
  tr -d '\r' | sed '/^$/d' >"$build/logs/test-names.txt"
listed=$(wc -l <"$build/logs/test-names.txt")
# The lists' Windows paths: Catch2 built for Windows takes an argument starting with / for an option.
names=()
for half in 0 1; do
  # A comma in a name would separate two patterns: escaped.
  awk -v half="$half" 'NR % 2 == half { gsub(/,/, "\\,"); print }' "$build/logs/test-names.txt" \
    >"$build/logs/test-names-$half.txt"
  names+=("$(winepath -w "$build/logs/test-names-$half.txt" | tr -d '\r')")
done
for half in 0 1; do
  step "the test suite, half $((half + 1)) of 2" "$build/logs/tests-$half.txt" \
    wine "$build/tests/vkgrad_tests.exe" --input-file "${names[$half]}" >"$build/logs/tests-$half.step" &
done
wait
for half in 0 1; do
  cat "$build/logs/tests-$half.step"
  if grep -q "^windows: .* FAILED" "$build/logs/tests-$half.step"; then status=1; fi
done
ran=$(cat "$build/logs"/tests-[01].txt | tr -d '\r' | sed -nE 's/.* in ([0-9]+) test cases?.*/\1/p' |
  awk '{ n += $1 } END { print n + 0 }')
if [ "$ran" != "$listed" ]; then
  echo "windows: the two halves ran $ran test cases of the $listed listed"
  status=1
fi
step "one epoch of MNIST" "$build/logs/mnist.txt" wine "$build/samples/mnist/vkgrad-mnist.exe" --data data/mnist \
  --epochs 1 --quiet --save "$build/mnist/vkgrad-mnist.safetensors" --curves "$build/mnist/vkgrad-mnist"
echo "windows: run under wine in $((SECONDS - start)) s"
exit "$status"
