#!/usr/bin/python3
"""A regression MLP trained by vkgrad (nn::Trainer + nn::MSELoss on f32 targets) and by PyTorch from
the same initial weights, on the same data, with the same model, optimizer, batch size and epochs;
prints the test MSE and MAE of each, per seed, and the training times.

The data is Friedman's first regression problem (J. H. Friedman, "Multivariate adaptive regression
splines", 1991; scikit-learn's make_friedman1), generated here from a seed with Python's `random`
module: x ~ U(0, 1)^10 (five features unused), y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4
+ N(0, noise^2). Train and test sets are written to one safetensors file (x_train, y_train, x_test,
y_test) that both sides read. The noise variance (1 by default) is the best test MSE any model can
reach.

For each seed, build/bench/vkgrad-regression initialises the model from the seed, writes those
parameters (PyTorch's state_dict names) and trains; PyTorch loads them into the same nn.Sequential
and trains with torch.optim.Adam and MSELoss over a fresh shuffle per epoch, keeping the last
partial batch, as vkgrad does. The shuffles differ (each library draws its own), so the runs are
two samples of the same training procedure, not the same trajectory.

PyTorch runs on the CPU at its fastest thread count: the first seed is trained at every count from 1
to the available cores and the fastest is used for the other seeds.

Usage: bench/regression_vs_pytorch.py [--seeds 5] [--epochs 100] [--batch 32] [--lr 1e-3]
                                      [--hidden 64,64] [--train 2000] [--test 1000] [--noise 1]
                                      [--build build] [--threads all|N]
"""
import argparse
import json
import math
import os
import random
import struct
import subprocess
import tempfile
import time

import torch

from thread_sweep import thread_counts

FEATURES = 10


def friedman1(count, noise, rng):
    x, y = [], []
    for _ in range(count):
        v = [rng.random() for _ in range(FEATURES)]
        target = 10 * math.sin(math.pi * v[0] * v[1]) + 20 * (v[2] - 0.5) ** 2 + 10 * v[3] + 5 * v[4]
        x.extend(v)
        y.append(target + rng.gauss(0.0, noise))
    return x, y


def write_safetensors(path, tensors):
    """tensors: name -> (shape, list of floats), written as F32."""
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base, out = 8 + n, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        assert entry["dtype"] == "F32", entry
        out[name] = torch.frombuffer(bytearray(data[base + begin : base + end]), dtype=torch.float32).reshape(
            entry["shape"]
        )
    return out


def make_model(hidden, outputs):
    layers, width = [], FEATURES
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, outputs))
    return torch.nn.Sequential(*layers)


def train_torch(args, data, init_path, seed):
    model = make_model(args.hidden, 1)
    model.load_state_dict(read_safetensors(init_path))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.MSELoss()
    x, y = data["x_train"], data["y_train"]
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(x.shape[0], generator=gen)
        for start in range(0, x.shape[0], args.batch):  # the last partial batch is kept
            idx = order[start : start + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        err = (model(data["x_test"]) - data["y_test"]).double()
    return {"test_mse": err.pow(2).mean().item(), "test_mae": err.abs().mean().item(), "train_seconds": seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", default="64,64")
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--build", default="build")
    p.add_argument("--threads", default="all", help="PyTorch CPU threads: all (the fastest count) or N")
    args = p.parse_args()
    args.hidden = [int(h) for h in args.hidden.split(",")]
    exe = os.path.join(args.build, "bench", "vkgrad-regression")

    rng = random.Random(args.data_seed)
    x_train, y_train = friedman1(args.train, args.noise, rng)
    x_test, y_test = friedman1(args.test, args.noise, rng)
    mean = sum(y_test) / len(y_test)
    variance = sum((v - mean) ** 2 for v in y_test) / len(y_test)
    print(f"Friedman #1: {args.train} train / {args.test} test samples, noise {args.noise} "
          f"(the best possible test MSE is about {args.noise ** 2:.2f}); test target variance {variance:.2f}")
    print(f"model 10-{'-'.join(map(str, args.hidden))}-1 ReLU, Adam lr {args.lr}, batch {args.batch}, "
          f"{args.epochs} epochs, MSELoss")
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "friedman1.safetensors")
        write_safetensors(data_path, {"x_train": ((args.train, FEATURES), x_train), "y_train": ((args.train, 1), y_train),
                                      "x_test": ((args.test, FEATURES), x_test), "y_test": ((args.test, 1), y_test)})
        data = read_safetensors(data_path)
        best_threads, rows = None, []
        for seed in range(args.seeds):
            init = os.path.join(tmp, f"init{seed}.safetensors")
            cmd = [exe, "--data", data_path, "--seed", str(seed), "--epochs", str(args.epochs), "--batch",
                   str(args.batch), "--lr", str(args.lr), "--hidden", ",".join(map(str, args.hidden)),
                   "--init-out", init]
            vk = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            if best_threads is None:
                timings = {}
                for t in thread_counts(args.threads):
                    torch.set_num_threads(t)
                    timings[t] = train_torch(args, data, init, seed)
                    print(f"  PyTorch, {t} thread(s): {timings[t]['train_seconds']:.2f} s")
                best_threads = min(timings, key=lambda t: timings[t]["train_seconds"])
                torch.set_num_threads(best_threads)
                pt = timings[best_threads]
            else:
                pt = train_torch(args, data, init, seed)
            rows.append((seed, vk, pt))
        print(f"\nvkgrad on {rows[0][1]['device']}; PyTorch {torch.__version__} on the CPU, {best_threads} thread(s)")
        print("| seed | vkgrad test MSE | PyTorch test MSE | vkgrad test MAE | PyTorch test MAE | vkgrad s | PyTorch s |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for seed, vk, pt in rows:
            print(f"| {seed} | {vk['test_mse']:.4f} | {pt['test_mse']:.4f} | {vk['test_mae']:.4f} | {pt['test_mae']:.4f} "
                  f"| {vk['train_seconds']:.2f} | {pt['train_seconds']:.2f} |")
        mean_of = lambda side, key: sum(r[side][key] for r in rows) / len(rows)
        print(f"| mean | {mean_of(1, 'test_mse'):.4f} | {mean_of(2, 'test_mse'):.4f} | {mean_of(1, 'test_mae'):.4f} "
              f"| {mean_of(2, 'test_mae'):.4f} | {mean_of(1, 'train_seconds'):.2f} | {mean_of(2, 'train_seconds'):.2f} |")


if __name__ == "__main__":
    main()
