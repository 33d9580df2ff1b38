#!/usr/bin/env bash
# GEMM in vkgrad next to OpenBLAS SGEMM (through NumPy, Debian's python3-numpy with
# libopenblas0-pthread, 2 threads) on the same machine, in the same run. Prints both tables.
# Usage: bench/gemm_vs_openblas.sh [square sizes, default 512,2048]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-512,2048}
build=${VKGRAD_BUILD_DIR:-build}
scripts/install-deps.sh python3-numpy libopenblas0-pthread
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target vkgrad_bench -j "$(nproc)" >/dev/null
echo "== OpenBLAS SGEMM via NumPy ($(nproc) threads)"
OPENBLAS_NUM_THREADS=$(nproc) env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 - "$sizes" <<'PY'
import sys, time
import numpy as np
# The MLP's products as vkgrad issues them (same names as vkgrad_bench): forward X·Wᵀ (B^T),
# backward dX = dY·W and dW = dYᵀ·X (A^T); then square sizes.
shapes = [(128, 512, 784, False, True), (128, 256, 512, False, True), (128, 10, 256, False, True),
          (128, 784, 512, False, False), (128, 512, 256, False, False), (128, 256, 10, False, False),
          (512, 784, 128, True, False), (256, 512, 128, True, False), (10, 256, 128, True, False)]
shapes += [(n, n, n, False, False) for n in map(int, sys.argv[1].split(","))]
for m, n, k, ta, tb in shapes:
    a = np.full((k, m) if ta else (m, k), 0.5, dtype=np.float32)
    b = np.full((n, k) if tb else (k, n), 0.25, dtype=np.float32)
    f = (lambda: a.T @ b) if ta else (lambda: a @ b.T) if tb else (lambda: a @ b)
    f()
    times = []
    for _ in range(max(3, int(0.5 / max(1e-9, 2.0 * m * n * k / 50e9)))):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    times.sort()
    ms = times[len(times) // 2] * 1e3
    tag = ' (B^T)' if tb else ' (A^T)' if ta else ''
    print(f"gemm {m}x{n}x{k}{tag:7s} {ms:10.4f} ms {2.0 * m * n * k / (ms * 1e-3) / 1e9:10.2f} GFLOP/s")
PY
echo "== vkgrad on the default device"
"$build/bench/vkgrad_bench" --filter gemm --repeat 10 --gemm-square "$sizes"
