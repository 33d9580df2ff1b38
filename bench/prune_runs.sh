#!/usr/bin/env bash
# Weight pruning against the dense model, same seed, same run, on this machine's Vulkan device:
#   lenet:   LeNet-300-100 (784-300-100-10, ReLU, no BatchNorm, no dropout) on the MNIST digits
#            (8,000 train / 2,000 test), Adam 1e-3, batch 128, 20 epochs;
#   fashion: the README model (784-512-256-10, BatchNorm, ReLU, dropout 0.2) on Fashion-MNIST
#            (60,000 / 10,000), Adam 1e-3, batch 128, 10 epochs.
# The pruned run prunes every Linear weight by global magnitude to SPARSITY (default 0.9) on Zhu &
# Gupta's cubic schedule (lenet: after epochs 2..12, fashion: after epochs 1..6, every epoch), then
# fine-tunes at that sparsity. Each run exports its model dense (safetensors) and, the pruned one,
# with CSR weights, and times inference on the test set at batches 1, 128 and 1024, dense and with
# compressed weights. Prints the per-epoch lines and a summary (test accuracy of the last epoch);
# the logs, curves, checkpoints and exports stay in the temporary directory it names.
#
#   bash bench/prune_runs.sh [lenet|fashion|both] [build-dir] [sparsity]
#   (defaults both, build, 0.9; fetch the data with scripts/fetch-data.sh)
set -euo pipefail
which=${1:-both}
build=${2:-build}
sparsity=${3:-0.9}
mnist="$build/samples/mnist/vkgrad-mnist"
[[ -x $mnist ]] || { echo "no $mnist: build the project first" >&2; exit 2; }
out=$(mktemp -d)
run() {  # name, then vkgrad-mnist arguments → the run's output in $out/<name>.log
  local name=$1
  shift
  "$mnist" --seed 1 --quiet --save "$out/$name.checkpoint.safetensors" --curves "$out/$name" \
    --export "$out/$name.safetensors" --time-inference "$@" | tee "$out/$name.log"
}
summary() {  # name → accuracy, model bytes
  local log="$out/$1.log"
  local acc
  acc=$(grep '^epoch' "$log" | tail -1 | sed -E 's/.*test acc ([0-9.]+)%.*/\1/')
  echo "$1: test accuracy $acc %; $(grep -E '^model \(' "$log" | sed -E 's/: .*, ([0-9]+) bytes/ \1 bytes/' |
    paste -sd ';' -)"
}
pair() {  # model name, dense-run args..., --, pruning args...
  local model=$1
  shift
  local args=()
  while [[ $1 != -- ]]; do
    args+=("$1")
    shift
  done
  shift
  echo "== $model dense"
  run "$model-dense" "${args[@]}"
  echo "== $model pruned to $sparsity"
  run "$model-pruned" "${args[@]}" --prune-sparsity "$sparsity" --prune-method global --prune-schedule cubic "$@" \
    --export-sparse "$out/$model-pruned.csr.safetensors"
}
if [[ $which == lenet || $which == both ]]; then
  pair lenet --dataset mnist --epochs 20 --hidden 300,100 --no-batchnorm --dropout 0 -- --prune-start 2 --prune-end 12
fi
if [[ $which == fashion || $which == both ]]; then
  pair fashion --dataset fashion --epochs 10 -- --prune-start 1 --prune-end 6
fi
echo "== summary (files in $out)"
for f in "$out"/*.log; do summary "$(basename "$f" .log)"; done
