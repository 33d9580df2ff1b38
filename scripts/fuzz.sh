#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: the IDX reader and the safetensors reader) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs each for a bounded time starting from the
# committed seed corpus. Exits non-zero if a target finds a crash, a leak or undefined behaviour;
# the reproducer is left in the build directory (add it to the corpus and to a regression test).
# Usage: scripts/fuzz.sh [seconds per target, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
scripts/install-deps.sh clang libclang-rt-14-dev
build=${VKGRAD_FUZZ_BUILD_DIR:-build-fuzz}
sanitize="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# The readers never run an op, so the library is built without its shaders (VKGRAD_EMBED_SHADERS).
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKGRAD_BUILD_FUZZERS=ON \
  -DVKGRAD_BUILD_TESTS=OFF -DVKGRAD_BUILD_BENCH=OFF -DVKGRAD_BUILD_SAMPLES=OFF -DVKGRAD_EMBED_SHADERS=OFF \
  -DCMAKE_CXX_FLAGS="$sanitize" >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_idx fuzz_safetensors
# The targets run at the same time, one process each (libFuzzer runs one thread), and their output is
# shown once both have stopped.
targets=(idx safetensors)
pids=()
for target in "${targets[@]}"; do
  corpus="$build/corpus-$target"
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/$target/* "$corpus/"
  (cd "$build" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "./tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
     -print_final_stats=1 "corpus-$target") >"$build/fuzz_$target.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  target=${targets[$i]} rc=0
  wait "${pids[$i]}" || rc=$?
  echo "== fuzz_$target for ${seconds} s"
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|ERROR|SUMMARY|Done" \
    "$build/fuzz_$target.log" || true
  if [ "$rc" != 0 ]; then
    echo "fuzz_$target FAILED (exit status $rc): $build/fuzz_$target.log"
    status=1
  fi
done
exit "$status"
