#!/usr/bin/env bash
# GEMM in vkgrad next to OpenBLAS SGEMM (through NumPy: Debian's python3-numpy with
# libopenblas0-pthread) on the same machine, in the same run, at the MLP's shapes and square sizes.
# OpenBLAS is timed at every thread count from 1 to `nproc` (OPENBLAS_NUM_THREADS, one process per
# count); the script prints OpenBLAS's table per count, vkgrad_bench's GEMM table, and per shape
# vkgrad's GFLOP/s as a percentage of OpenBLAS at its fastest count for that shape.
# Usage: bench/gemm_vs_openblas.sh [square sizes, default 512,2048]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-512,2048}
build=${VKGRAD_BUILD_DIR:-build}
scripts/install-deps.sh python3-numpy libopenblas0-pthread
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target vkgrad_bench -j "$(nproc)" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for threads in $(seq 1 "$(nproc)"); do
  echo "== OpenBLAS SGEMM via NumPy ($threads thread$([ "$threads" -gt 1 ] && echo s))"
  # Debian's OpenBLAS is told the core type on some machines (OPENBLAS_CORETYPE); it slows a current
  # build, so OpenBLAS runs without it.
  OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    /usr/bin/python3 - "$sizes" "$out/openblas_$threads.json" "$threads" <<'PY'
import json, sys, time
import numpy as np
# The MLP's products as vkgrad issues them (same names as vkgrad_bench): forward X·Wᵀ (B^T),
# backward dX = dY·W and dW = dYᵀ·X (A^T); then square sizes.
shapes = [(128, 512, 784, False, True), (128, 256, 512, False, True), (128, 10, 256, False, True),
          (128, 784, 512, False, False), (128, 512, 256, False, False), (128, 256, 10, False, False),
          (512, 784, 128, True, False), (256, 512, 128, True, False), (10, 256, 128, True, False)]
shapes += [(n, n, n, False, False) for n in map(int, sys.argv[1].split(","))]
rows = []
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
    gflops = 2.0 * m * n * k / (ms * 1e-3) / 1e9
    rows.append({"op": f"gemm {m}x{n}x{k}{tag}", "ms": ms, "gflop_per_s": gflops})
    print(f"gemm {m}x{n}x{k}{tag:7s} {ms:10.4f} ms {gflops:10.2f} GFLOP/s")
json.dump({"threads": int(sys.argv[3]), "results": rows}, open(sys.argv[2], "w"))
PY
done
echo "== vkgrad on the default device"
"$build/bench/vkgrad_bench" --filter gemm --repeat 10 --gemm-square "$sizes" --json "$out/vkgrad.json"
/usr/bin/python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
blas = sorted((json.load(open(p)) for p in glob.glob(os.path.join(out, "openblas_*.json"))), key=lambda d: d["threads"])
vk = json.load(open(os.path.join(out, "vkgrad.json")))
vrows = {r["op"]: r for r in vk["results"] if "gflop_per_s" in r}
counts = [d["threads"] for d in blas]
print(f"\nvkgrad on {vk['device']} ({vk['driver'].strip()}) vs OpenBLAS SGEMM at 1..{counts[-1]} threads, GFLOP/s")
print(f"{'shape':24s} " + " ".join(f"{f'BLAS {t}t':>9s}" for t in counts) + f" {'best':>5s} {'vkgrad':>9s} {'vs best':>8s}")
for i, r in enumerate(blas[0]["results"]):
    op = r["op"]
    per = [d["results"][i]["gflop_per_s"] for d in blas]
    best = max(range(len(per)), key=per.__getitem__)
    v = vrows.get(op, {}).get("gflop_per_s")
    ratio = f"{100 * v / per[best]:7.1f}%" if v else "       -"
    vs = f"{v:9.2f}" if v else "        -"
    print(f"{op[5:]:24s} " + " ".join(f"{g:9.2f}" for g in per) + f" {counts[best]:>4d}t {vs} {ratio}")
print("best: OpenBLAS's fastest thread count for that shape; vs best: vkgrad as a percentage of it")
PY
