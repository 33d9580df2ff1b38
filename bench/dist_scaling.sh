#!/usr/bin/env bash
# Data-parallel scaling of the README's MNIST model (784-512-256-10, ReLU, BatchNorm, dropout 0.2,
# Adam, global batch 128) on this machine: vkgrad-mnist as 1 process and as 2 MPI ranks, each
# limited to one core (LP_NUM_THREADS=1, each rank bound to a core), both on the same data.
# Prints samples/s of the last epoch, the speed-up, and the 2-rank run's communication time per step
# and allreduce bandwidth (gradient bytes per step / that time).
#
#   bash bench/dist_scaling.sh [build-dir] [epochs]    (default build, 3; the data: scripts/fetch-data.sh)
set -euo pipefail
build=${1:-build}
epochs=${2:-3}
mnist="$build/samples/mnist/vkgrad-mnist"
[[ -x $mnist ]] || { echo "no $mnist: build vkgrad-mnist with VKGRAD_DIST=ON first" >&2; exit 2; }
export LP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(--dataset mnist --epochs "$epochs" --no-save --quiet --seed 1 --curves "$(mktemp -d)/curves")
run() {  # ranks → the last epoch's line
  mpirun -np "$1" --bind-to core "$mnist" "${args[@]}" | grep '^epoch' | tail -1
}
one=$(run 1)
two=$(run 2)
rate() { sed -E 's/.*, ([0-9.]+) samples\/s.*/\1/' <<<"$1"; }
echo "1 rank:  $one"
echo "2 ranks: $two"
awk -v a="$(rate "$one")" -v b="$(rate "$two")" 'BEGIN { printf "samples/s: 1 rank %.0f, 2 ranks %.0f, speed-up %.2fx\n", a, b, b / a }'
grep -oE 'communication [0-9.]+ ms/step, [0-9.]+ MB/s' <<<"$two" || true
