#!/usr/bin/python3
"""The PyTorch peer of vkgrad-mnist: the same MLP, data, normalisation, optimizer and batch size,
trained in PyTorch eager mode, timed per epoch (training only, as vkgrad-mnist reports it).

Batches are index slices of tensors already on the device (no DataLoader workers, no Python objects
per sample), and --warmup training steps on a throwaway copy of the model run before the timed
epochs, so PyTorch is measured at its best. The last partial batch is kept (drop_last=False), as
vkgrad does. Writes the same JSON schema as `vkgrad-mnist --metrics-json`.

On the CPU the run is repeated for each thread count of --threads (default: every count from 1 to
the number of available cores), each in its own process with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set to it as well, from the same seed. The figures of every count are printed
and kept under "sweep" in the JSON; the top-level epochs are those of the fastest count (least
total training time), named by "threads" and "best_threads". On CUDA one run is made.

--cuda-graphs (on a CUDA device) captures the training step in a CUDA graph; it needs a full batch, so
the last partial batch then runs eagerly.

Usage: bench/mnist_pytorch.py [--dataset mnist|fashion] [--epochs N] [--threads all|N|N,M,...]
                              [--device cpu|cuda] [--cuda-graphs] [--json FILE]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch

from thread_sweep import available_cores, run_each_count, thread_counts


def read_idx(path):
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            opener = gzip.open if open(candidate, "rb").read(2) == b"\x1f\x8b" else open
            with opener(candidate, "rb") as f:
                data = f.read()
            zero, dtype, ndims = struct.unpack(">HBB", data[:4])
            if zero != 0 or dtype != 0x08:
                raise SystemExit(f"{candidate}: not an unsigned-byte IDX file")
            dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)
    raise SystemExit(f"{path} not found: run scripts/fetch-data.sh")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="IDX directory (default data/<dataset>)")
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion"])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--no-batchnorm", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", default=None,
                   help="CPU thread counts to time: all (default on the CPU: 1 .. cores), N, or N,M,...; "
                        "on CUDA one count (default: all cores)")
    p.add_argument("--warmup", type=int, default=20,
                   help="untimed training steps on a copy of the model before the timed epochs")
    p.add_argument("--device", default="cpu")
    p.add_argument("--cuda-graphs", action="store_true")
    p.add_argument("--json", default=None, help="write per-epoch figures here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one count of a CPU sweep
    a = p.parse_args()

    if torch.device(a.device).type == "cpu" and not a.worker:
        sweep(a)
        return
    counts = thread_counts(a.threads) if a.threads not in (None, "", "all") else [available_cores()]
    if len(counts) != 1:
        raise SystemExit(f"--threads {a.threads}: one thread count on {a.device}")
    result = train(a, counts[0])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


def sweep(a):
    """Runs the training once per thread count, each in a child process whose OpenMP and OpenBLAS
    pools are sized by the environment before torch loads, and keeps the fastest as the result."""
    runs = run_each_count(__file__, a.threads)
    total = {r["threads"]: sum(e["seconds"] for e in r["epochs"]) for r in runs}
    best = min(runs, key=lambda r: total[r["threads"]])
    print("\nPyTorch training time by thread count (all epochs):")
    for r in runs:
        mark = "  <- fastest" if r is best else ""
        per_epoch = ", ".join(f"{e['seconds']:.2f}" for e in r["epochs"])
        print(f"  {r['threads']:>3} threads: {total[r['threads']]:8.2f} s  (per epoch {per_epoch}){mark}")
    result = dict(best)
    result["best_threads"] = best["threads"]
    result["sweep"] = [{"threads": r["threads"], "total_seconds": total[r["threads"]], "epochs": r["epochs"]}
                       for r in runs]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


def train(a, threads):
    torch.manual_seed(a.seed)
    torch.set_num_threads(threads)
    dev = torch.device(a.device)
    data = a.data or os.path.join("data", a.dataset)
    mean, std = (0.2860, 0.3530) if a.dataset == "fashion" else (0.1307, 0.3081)

    def load(prefix):
        x = torch.from_numpy(read_idx(os.path.join(data, f"{prefix}-images-idx3-ubyte")).copy())
        y = torch.from_numpy(read_idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte")).copy()).long()
        x = ((x.reshape(x.shape[0], -1).float() / 255.0 - mean) / std).to(dev)
        return x, y.to(dev)

    xtr, ytr = load("train")
    xte, yte = load("t10k")

    def build():
        layers, f = [], xtr.shape[1]
        for h in [int(v) for v in a.hidden.split(",") if v]:
            layers.append(torch.nn.Linear(f, h))
            if not a.no_batchnorm:
                layers.append(torch.nn.BatchNorm1d(h))
            layers.append(torch.nn.ReLU())
            if a.dropout > 0:
                layers.append(torch.nn.Dropout(a.dropout))
            f = h
        layers.append(torch.nn.Linear(f, 10))
        model = torch.nn.Sequential(*layers).to(dev)
        return model, torch.optim.Adam(model.parameters(), lr=a.lr)

    loss_fn = torch.nn.CrossEntropyLoss()

    def make_step(model, opt):
        def step(xb, yb):
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            return loss.detach(), (out.argmax(1) == yb).sum()
        return step

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    model, opt = build()
    step = make_step(model, opt)

    # Warm-up on a throwaway model (thread pools, allocator, kernels); the random state is restored
    # afterwards, so the timed run draws the same permutations and dropout masks as without it.
    if a.warmup > 0:
        rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if dev.type == "cuda" else None
        warm_model, warm_opt = build()
        warm_step = make_step(warm_model, warm_opt)
        warm_model.train()
        for i in range(a.warmup):
            s = (i * a.batch) % max(1, xtr.shape[0] - a.batch)
            warm_step(xtr[s:s + a.batch], ytr[s:s + a.batch])
        sync()
        del warm_model, warm_opt, warm_step
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)

    graph = None
    if a.cuda_graphs and dev.type == "cuda":
        static_x = xtr[: a.batch].clone()
        static_y = ytr[: a.batch].clone()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):  # warm up (allocates the optimizer state) before capture
                step(static_x, static_y)
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            static_loss, static_correct = step(static_x, static_y)

    result = {"framework": "pytorch", "torch_version": torch.__version__, "device": str(dev),
              "threads": torch.get_num_threads(), "dataset": a.dataset, "batch": a.batch,
              "cuda_graphs": graph is not None, "warmup_steps": a.warmup, "epochs": []}
    n = xtr.shape[0]
    for epoch in range(1, a.epochs + 1):
        model.train()
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            if graph is not None and idx.numel() == a.batch:
                static_x.copy_(xtr[idx])
                static_y.copy_(ytr[idx])
                graph.replay()
                l, c = static_loss, static_correct
            else:
                l, c = step(xtr[idx], ytr[idx])
            loss_sum += l * idx.numel()
            correct += c
        sync()
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(xte[s:s + a.batch]) for s in range(0, xte.shape[0], a.batch)])
            test_loss = loss_fn(out, yte).item()
            test_acc = (out.argmax(1) == yte).float().mean().item()
        e = {"epoch": epoch, "seconds": seconds, "train_loss": loss_sum.item() / n,
             "train_acc": correct.item() / n, "test_loss": test_loss, "test_acc": test_acc}
        result["epochs"].append(e)
        print(f"pytorch epoch {epoch}/{a.epochs}  train loss {e['train_loss']:.4f}  train acc {100 * e['train_acc']:.2f}%"
              f"  test acc {100 * test_acc:.2f}%  ({seconds:.2f} s, {result['threads']} threads)", flush=True)
    return result


if __name__ == "__main__":
    main()
