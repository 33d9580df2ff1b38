#!/usr/bin/env python3
"""What each kernel of the CPU specialisation (VKGRAD_KERNELS=cpu) is worth on a CPU Vulkan driver.

Times one training step of the README's MNIST model (`vkgrad_bench --training-step`: GPU time from
timestamps, the median over the replays) with the cpu kernel set, then with one of its kernels at a
time replaced by the kernel GPUs run, then with the whole gpu kernel set. The configurations run
alternately, round after round, so that a slow minute on a shared host hits all of them; each
figure is the median over the rounds. A kernel earns its place when taking it out makes the step
slower.

    python3 bench/cpu_specialisations.py [--bench build/bench/vkgrad_bench] [--rounds 3] [--repeat 5]

Prints a Markdown table: the step time, its ratio to the cpu kernel set, and the dispatches that
changed the most.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# (name, VKGRAD_KERNELS, vkgrad_bench flags): the cpu kernel set, each of its kernels replaced by the
# one GPUs run, and the gpu kernel set.
CONFIGS = [
    ("cpu kernel set", "cpu", []),
    ("storage-buffer loads instead of texel loads (the _texel builds)", "cpu", ["--texel-loads", "off"]),
    ("direct GEMM instead of the subgroup-broadcast one", "cpu", ["--gemm-path", "direct"]),
    ("tiled shared-memory GEMM instead of the broadcast one", "cpu", ["--gemm-path", "tiled"]),
    ("workgroup row and column reductions instead of per-invocation ones", "cpu", ["--reduction-layout", "workgroup"]),
    ("subgroup arithmetic in the workgroup reductions", "cpu", ["--reductions", "subgroup"]),
    ("gpu kernel set", "gpu", []),
]


def run(bench, kernels, flags, repeat):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        env = dict(os.environ, VKGRAD_KERNELS=kernels)
        subprocess.run([bench, "--training-step", "--repeat", str(repeat), "--json", path] + flags, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="build/bench/vkgrad_bench", help="the vkgrad_bench executable")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all configurations (median reported)")
    parser.add_argument("--repeat", type=int, default=5, help="replays per run (vkgrad_bench --repeat, at least 3)")
    args = parser.parse_args()

    totals = {name: [] for name, _, _ in CONFIGS}
    per_label = {name: {} for name, _, _ in CONFIGS}
    device = kernels_of = None
    kernels_of = {}
    for r in range(args.rounds):
        for name, kernels, flags in CONFIGS:
            doc = run(args.bench, kernels, flags, args.repeat)
            device = doc["device"] + ", " + doc["driver"]
            kernels_of[name] = doc["kernels"]
            totals[name].append(doc["training_step_ms"])
            for d in doc["dispatches"]:
                per_label[name].setdefault(d["dispatch"], []).append(d["ms"])
            print(f"round {r + 1}: {name}: {doc['training_step_ms']:.2f} ms", file=sys.stderr)

    base_name = CONFIGS[0][0]
    base = statistics.median(totals[base_name])
    base_labels = {k: statistics.median(v) for k, v in per_label[base_name].items()}
    print(f"Device: {device}. One training step of the README's MNIST model at batch 128, GPU time, median of "
          f"{args.rounds} alternated rounds of {args.repeat} replays.\n")
    print("| configuration | kernels as run | step (ms) | vs the cpu kernel set | largest changes (ms) |")
    print("| --- | --- | --- | --- | --- |")
    for name, _, _ in CONFIGS:
        total = statistics.median(totals[name])
        labels = {k: statistics.median(v) for k, v in per_label[name].items()}
        changes = sorted(((labels[k] - base_labels.get(k, 0.0), k) for k in labels), key=lambda c: -abs(c[0]))
        shown = ", ".join(f"{k} {base_labels.get(k, 0.0):.1f} → {labels[k]:.1f}" for delta, k in changes[:3]
                          if abs(delta) >= 0.05 * base and name != base_name)
        k = kernels_of[name]
        as_run = (f"{k['set']}; texel loads {'on' if k['texel_loads'] else 'off'}, GEMM {k['gemm_path']}, "
                  f"rows {k['row_reductions'].replace('_', ' ')}, subgroups {'on' if k['subgroup_reductions'] else 'off'}")
        print(f"| {name} | {as_run} | {total:.2f} | {total / base:.2f}× | {shown or '—'} |")


if __name__ == "__main__":
    main()
