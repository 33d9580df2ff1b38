#!/usr/bin/env bash
# One MNIST-model training run in vkgrad and in PyTorch, side by side on this machine: the same MLP
# (784-512-256-10, ReLU, BatchNorm1d, dropout 0.2), data, normalisation, Adam 1e-3 and batch size.
# Prints per-epoch time, loss and accuracy of both and the epoch-time ratio.
#
# Usage: bench/mnist_vs_pytorch.sh [--dataset mnist|fashion] [--epochs N] [--torch-device cpu|cuda]
#                                  [--threads N] [--cuda-graphs]
# PyTorch is Debian's python3-torch with OpenBLAS (libopenblas0-pthread), installed by this script; on the CPU it runs
# with --threads threads (default: all cores, 2 on the CI machine class).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=mnist epochs=1 torch_device=cpu threads=$(nproc) graphs=()
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
echo "== PyTorch ($torch_device, $threads threads; libblas.so.3 -> $blas)"
# Debian's OpenBLAS is told the core type on some of these machines (OPENBLAS_CORETYPE); it slows a
# current build, so the PyTorch run alone goes without it.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/mnist_pytorch.py --dataset "$dataset" \
  --epochs "$epochs" --batch 128 --device "$torch_device" --threads "$threads" "${graphs[@]}" --json "$out/torch.json"

/usr/bin/python3 - "$out/vkgrad.json" "$out/torch.json" <<'PY'
import json, sys
v, t = (json.load(open(p)) for p in sys.argv[1:3])
print(f"\nvkgrad on {v['device']} ({v['driver'].strip()}) vs PyTorch {t['torch_version']} on {t['device']}"
      f" ({t['threads']} threads{', CUDA graphs' if t.get('cuda_graphs') else ''}), {v['dataset']}, batch {v['batch']}")
print(f"{'epoch':>5} {'vkgrad s':>9} {'torch s':>9} {'ratio':>7} {'vk loss':>8} {'pt loss':>8} {'vk test':>8} {'pt test':>8}")
for a, b in zip(v["epochs"], t["epochs"]):
    print(f"{a['epoch']:>5} {a['seconds']:>9.2f} {b['seconds']:>9.2f} {a['seconds'] / b['seconds']:>7.2f} "
          f"{a['train_loss']:>8.4f} {b['train_loss']:>8.4f} {100 * a['test_acc']:>7.2f}% {100 * b['test_acc']:>7.2f}%")
sv = sum(e["seconds"] for e in v["epochs"]); st = sum(e["seconds"] for e in t["epochs"])
print(f"total training time: vkgrad {sv:.2f} s, PyTorch {st:.2f} s: vkgrad takes {sv / st:.2f}x PyTorch's time")
PY
