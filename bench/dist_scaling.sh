#!/usr/bin/env bash
# Data-parallel scaling of the README's MNIST model (784-512-256-10, ReLU, BatchNorm, dropout 0.2,
# Adam, global batch 128) on this machine: vkgrad-mnist as 1 process and as 2 MPI ranks, each
# limited to one core (LP_NUM_THREADS=1, each rank bound to a core by mpirun), on the same data.
# The two are run alternately `reps` times; each run's figure is its last epoch's samples/s (the
# first epoch also compiles the kernels), and the best run of each is reported, the host being
# shared with other jobs. Prints the speed-up and the 2-rank run's communication time per step (the
# host reduction of the gradients, waiting for the other rank included) and allreduce bandwidth
# (gradient bytes per step / that time).
#
#   bash bench/dist_scaling.sh [build-dir] [epochs] [data-dir] [reps]
#   (defaults build, 3, data/mnist, 3; fetch the data with scripts/fetch-data.sh)
set -euo pipefail
build=${1:-build}
epochs=${2:-3}
data=${3:-data/mnist}
reps=${4:-3}
mnist="$build/samples/mnist/vkgrad-mnist"
[[ -x $mnist ]] || { echo "no $mnist: build vkgrad-mnist with VKGRAD_DIST=ON first" >&2; exit 2; }
export LP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(--dataset mnist --data "$data" --epochs "$epochs" --no-save --quiet --seed 1 --curves "$(mktemp -d)/curves")
run() {  # ranks → the last epoch's line
  mpirun -np "$1" --bind-to core "$mnist" "${args[@]}" | grep '^epoch' | tail -1
}
rate() { sed -E 's/.*, ([0-9.]+) samples\/s.*/\1/' <<<"$1"; }
best1=0 best2=0 line1="" line2=""
for ((r = 1; r <= reps; ++r)); do
  one=$(run 1)
  two=$(run 2)
  echo "run $r, 1 rank:  $one"
  echo "run $r, 2 ranks: $two"
  if awk -v a="$(rate "$one")" -v b="$best1" 'BEGIN { exit !(a > b) }'; then best1=$(rate "$one") line1=$one; fi
  if awk -v a="$(rate "$two")" -v b="$best2" 'BEGIN { exit !(a > b) }'; then best2=$(rate "$two") line2=$two; fi
done
awk -v a="$best1" -v b="$best2" 'BEGIN { printf "best of %d: 1 rank %.0f samples/s, 2 ranks %.0f samples/s, speed-up %.2fx\n", '"$reps"', a, b, b / a }'
echo "2 ranks, best run: $(grep -oE 'communication [0-9.]+ ms/step, [0-9.]+ MB/s' <<<"$line2" || true)"
