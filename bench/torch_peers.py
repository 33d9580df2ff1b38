#!/usr/bin/env python3
"""PyTorch peers of vkgrad_bench, measured on the same device in the same run.

- copy: a device-to-device copy of n floats (bytes read + written, as vkgrad_bench counts its own
  copy peer): the ceiling for elementwise ops.
- relu forward / backward at n floats: PyTorch's own elementwise kernels, for reference.
- GEMM: the MLP's products under the names vkgrad_bench gives them (X·Wᵀ "(B^T)", dY·W, dYᵀ·X
  "(A^T)") and the square sizes, in f32 with TF32 off (cuBLAS SGEMM, what vkgrad's f32 path is
  held to) and, on CUDA, in f16 with f32 accumulation (cuBLAS FP16 with reduced-precision
  reduction off).

Timed with CUDA events on CUDA (median of --repeat after warm-up runs); on the CPU with
perf_counter, at every thread count of --threads (default: 1 to the number of available cores),
each in its own process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to it; each op's row
is then its fastest count's, with "threads" naming that count and "by_threads" every count's ms.
Writes JSON rows like vkgrad_bench's: op, ms and gb_per_s or gflop_per_s.

Usage: bench/torch_peers.py [--device cuda|cpu] [-n ELEMENTS] [-r REPEAT] [--gemm-square 256,1024]
                            [--threads all|N|N,M,...] [--json FILE]
"""
import argparse
import json
import os
import time

import torch

from thread_sweep import run_each_count, thread_counts

MLP_SHAPES = [(128, 512, 784, False, True), (128, 256, 512, False, True), (128, 10, 256, False, True),
              (128, 784, 512, False, False), (128, 512, 256, False, False), (128, 256, 10, False, False),
              (512, 784, 128, True, False), (256, 512, 128, True, False), (10, 256, 128, True, False)]


def median_ms(fn, repeat, cuda):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def cpu_sweep(a):
    """Measures every op once per thread count, each count in a child process whose OpenMP and
    OpenBLAS pools are sized by the environment before torch loads; keeps each op's fastest."""
    runs = run_each_count(__file__, a.threads)
    doc = dict(runs[0], threads_swept=[r["threads"] for r in runs], results=[])
    print("\nfastest thread count per op:")
    for i, row in enumerate(runs[0]["results"]):
        rate = "gb_per_s" if "gb_per_s" in row else "gflop_per_s"
        best = max(runs, key=lambda r: r["results"][i][rate])
        merged = dict(best["results"][i], threads=best["threads"],
                      by_threads={str(r["threads"]): r["results"][i]["ms"] for r in runs})
        doc["results"].append(merged)
        unit = "GB/s" if rate == "gb_per_s" else "GFLOP/s"
        print(f"{row['op']:44s} {merged['ms']:10.4f} ms {merged[rate]:10.2f} {unit} at {best['threads']} threads",
              flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("-n", "--elements", type=int, default=64 << 20)
    p.add_argument("-r", "--repeat", type=int, default=20)
    p.add_argument("--gemm-square", default="256,1024,2048,4096")
    p.add_argument("--threads", default="all", help="CPU thread counts: all (1 .. cores), N or N,M,...")
    p.add_argument("--json", default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one count of a CPU sweep
    a = p.parse_args()

    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if not cuda:
        if not a.worker:
            cpu_sweep(a)
            return
        torch.set_num_threads(thread_counts(a.threads)[0])
    if cuda:
        torch.set_float32_matmul_precision("highest")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        # The f16 GEMM peer accumulates in f32 throughout, as vkgrad's f16 path does.
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    rows = []

    def add(op, ms, nbytes=None, flops=None):
        row = {"op": op, "ms": ms}
        if nbytes is not None:
            row["gb_per_s"] = nbytes / (ms * 1e-3) / 1e9
        if flops is not None:
            row["gflop_per_s"] = flops / (ms * 1e-3) / 1e9
        rows.append(row)
        rate = f"{row['gb_per_s']:10.2f} GB/s" if nbytes is not None else f"{row['gflop_per_s']:10.2f} GFLOP/s"
        print(f"{op:44s} {ms:10.4f} ms {rate}", flush=True)

    n = a.elements
    x = torch.rand(n, device=dev) * 2 - 1
    y = torch.empty_like(x)
    dy = torch.rand(n, device=dev)
    add("copy (device to device)", median_ms(lambda: y.copy_(x), a.repeat, cuda), nbytes=8 * n)
    add("relu forward", median_ms(lambda: torch.relu(x), a.repeat, cuda), nbytes=8 * n)
    add("relu backward", median_ms(lambda: torch.ops.aten.threshold_backward(dy, x, 0.0), a.repeat, cuda),
        nbytes=12 * n)
    del x, y, dy

    shapes = MLP_SHAPES + [(s, s, s, False, False) for s in map(int, a.gemm_square.split(",")) if s > 0]
    dtypes = [("f32", torch.float32)] + ([("f16", torch.float16)] if cuda else [])
    for tag, dtype in dtypes:
        for m, nn, k, ta, tb in shapes:
            A = torch.rand((k, m) if ta else (m, k), device=dev, dtype=dtype)
            B = torch.rand((nn, k) if tb else (k, nn), device=dev, dtype=dtype)
            opA = A.t() if ta else A
            opB = B.t() if tb else B
            C = torch.empty((m, nn), device=dev, dtype=dtype)
            name = f"gemm {m}x{nn}x{k}" + (" (B^T)" if tb else " (A^T)" if ta else "")
            if tag != "f32":
                name += f" {tag}"
            add(name, median_ms(lambda: torch.mm(opA, opB, out=C), a.repeat, cuda), flops=2.0 * m * nn * k)
            del A, B, C

    if a.json:
        doc = {"device": torch.cuda.get_device_name(dev) if cuda else "cpu", "torch": torch.__version__,
               "cuda": torch.version.cuda, "tf32": False, "elements": n, "repeat": a.repeat,
               "threads": torch.get_num_threads(), "results": rows}
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
