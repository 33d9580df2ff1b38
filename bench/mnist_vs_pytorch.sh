#!/usr/bin/env bash
# One MNIST-model training run in vkgrad and in PyTorch, side by side on this machine: the same MLP
# (784-512-256-10, ReLU, BatchNorm1d, dropout 0.2), data, normalisation, Adam 1e-3 and batch size.
# Prints per-epoch time, loss and accuracy of both and the ratio of vkgrad's training time to
# PyTorch's at its best.
#
# Usage: bench/mnist_vs_pytorch.sh [--dataset mnist|fashion] [--epochs N] [--torch-device cpu|cuda]
#                                  [--threads all|N|N,M,...] [--cuda-graphs]
# PyTorch is Debian's python3-torch with OpenBLAS (libopenblas0-pthread), installed by this script.
# On the CPU it is timed over the same epochs at every thread count from 1 to `nproc` (default
# `--threads all`; OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and torch.set_num_threads set to the
# count, after a short warm-up; bench/mnist_pytorch.py), every count's time is printed, and the
# ratio is against the fastest count. --threads N times one count only.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=mnist epochs=1 torch_device=cpu threads=all graphs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --torch-device) torch_device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --cuda-graphs) graphs=(--cuda-graphs); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# Debian's torch calls the system libblas.so.3: without OpenBLAS installed that is the slow reference
# BLAS, so OpenBLAS is installed too (it takes over the libblas.so.3 alternative).
scripts/install-deps.sh python3-torch python3-numpy libopenblas0-pthread
scripts/fetch-data.sh
build=${VKGRAD_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target vkgrad-mnist >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== vkgrad ($dataset, $epochs epochs)"
"$build/samples/mnist/vkgrad-mnist" --dataset "$dataset" --epochs "$epochs" --batch 128 --hidden 512,256 \
  --activation relu --batchnorm --dropout 0.2 --optimizer adam --lr 1e-3 --no-save --quiet \
  --curves "$out/curves" --metrics-json "$out/vkgrad.json"
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
if [ "$torch_device" = cpu ]; then
  echo "== PyTorch (cpu, threads: $threads of $(nproc) cores; libblas.so.3 -> $blas)"
else
  [ "$threads" = all ] && threads=$(nproc)
  echo "== PyTorch ($torch_device, $threads CPU threads)"
fi
# Debian's OpenBLAS is told the core type on some of these machines (OPENBLAS_CORETYPE); it slows a
# current build, so the PyTorch run alone goes without it.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/mnist_pytorch.py --dataset "$dataset" \
  --epochs "$epochs" --batch 128 --device "$torch_device" --threads "$threads" "${graphs[@]}" --json "$out/torch.json"

/usr/bin/python3 - "$out/vkgrad.json" "$out/torch.json" <<'PY'
import json, sys
v, t = (json.load(open(p)) for p in sys.argv[1:3])
sweep = t.get("sweep") or [{"threads": t["threads"], "total_seconds": sum(e["seconds"] for e in t["epochs"]),
                            "epochs": t["epochs"]}]
print(f"\nvkgrad on {v['device']} ({v['driver'].strip()}) vs PyTorch {t['torch_version']} on {t['device']}"
      f"{', CUDA graphs' if t.get('cuda_graphs') else ''}, {v['dataset']}, batch {v['batch']}")
sv = sum(e["seconds"] for e in v["epochs"])
if len(sweep) > 1:
    print("PyTorch training time by thread count, all epochs:")
    for r in sweep:
        fastest = "  (fastest)" if r["threads"] == t["threads"] else ""
        print(f"  {r['threads']:>3} threads: {r['total_seconds']:8.2f} s, vkgrad / PyTorch {sv / r['total_seconds']:.2f}x{fastest}")
print(f"per epoch, against PyTorch at {t['threads']} threads (its fastest count of those timed):")
print(f"{'epoch':>5} {'vkgrad s':>9} {'torch s':>9} {'ratio':>7} {'vk loss':>8} {'pt loss':>8} {'vk test':>8} {'pt test':>8}")
for a, b in zip(v["epochs"], t["epochs"]):
    print(f"{a['epoch']:>5} {a['seconds']:>9.2f} {b['seconds']:>9.2f} {a['seconds'] / b['seconds']:>7.2f} "
          f"{a['train_loss']:>8.4f} {b['train_loss']:>8.4f} {100 * a['test_acc']:>7.2f}% {100 * b['test_acc']:>7.2f}%")
st = sum(e["seconds"] for e in t["epochs"])
print(f"total training time: vkgrad {sv:.2f} s, PyTorch {st:.2f} s at {t['threads']} threads (its best): "
      f"vkgrad takes {sv / st:.2f}x the best PyTorch's time")
PY
