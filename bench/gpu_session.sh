#!/usr/bin/env bash
# The GPU measurements of bench/RESULTS.md in one run: vkgrad's op table and GEMM against PyTorch's
# (cuBLAS f32 with TF32 off, and f16), dense against sparse (CSR and ELL) linear forward at the MNIST
# layer shapes, the MNIST model against PyTorch eager and CUDA graphs, and the conformance suite
# with the default kernels, all on one NVIDIA GPU. It is built and staged on a machine with the
# toolchain, then run on the GPU machine, which needs neither a compiler nor a network connection
# nor an installed Vulkan loader; `run` takes under 10 minutes.
#
#   bash bench/gpu_session.sh prepare   # Release build, Vulkan loader .deb and datasets -> .gpu/
#   bash bench/gpu_session.sh run       # on the GPU machine, in a copy of this checkout with .gpu/
#   bash bench/gpu_session.sh dry-run   # on this machine's build, lavapipe and PyTorch-CPU (at every
#                                       # thread count), small sizes: checks the script end to end
#
# `run` writes to $OUT (or gpu-out/): summary.md (the tables for bench/RESULTS.md: elementwise GB/s
# against both copy peers, GEMM against cuBLAS f32 with TF32 off and f16, MNIST epochs against
# PyTorch eager and CUDA graphs, conformance suite counts), log.txt (everything printed),
# bench.json, peers.json, sparse.json, mnist.json and tests.xml (Catch2 JUnit). Each step has its
# own time limit and a failing step does not stop the later ones; the conformance suite runs last.
set -uo pipefail
cd "$(dirname "$0")/.."
stage=.gpu
mode=${1:-}

prepare() {
  set -e
  build=${VKGRAD_BUILD_DIR:-build}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" --target vkgrad_tests vkgrad_bench vkgrad-sparse-bench vkgrad-mnist
  scripts/fetch-data.sh
  rm -rf "$stage" && mkdir -p "$stage/debs" "$stage/data"
  cp "$build/tests/vkgrad_tests" "$build/bench/vkgrad_bench" "$build/bench/vkgrad-sparse-bench" \
    "$build/samples/mnist/vkgrad-mnist" "$stage/"
  cp -rL data/mnist data/fashion "$stage/data/"
  # `run` unpacks the Vulkan loader from this package where the GPU machine has none.
  (cd "$stage/debs" && apt-get download libvulkan1)
  du -sh "$stage"
  echo "staged in $stage/; on the GPU machine, in a copy of this checkout with $stage/: bash bench/gpu_session.sh run"
}

# step NAME SECONDS COMMAND...: runs one step with a time limit, its output into the log.
step() {
  local name=$1 limit=$2
  shift 2
  echo "=== $name (limit ${limit}s) $(date -u +%H:%M:%S)" | tee -a "$out/log.txt"
  timeout "$limit" "$@" 2>&1 | tee -a "$out/log.txt"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: rc $rc" | tee -a "$out/log.txt"
}

run() {
  local dry=$1
  out=${OUT:-gpu-out}
  mkdir -p "$out"
  : >"$out/log.txt"
  local bin=$stage py=python3 torch_dev=cuda n=$((64 << 20)) squares=256,1024,2048,4096 epochs=3 threads tests=()
  local dataset=fashion
  export PYTHONUNBUFFERED=1
  threads=$(nproc)
  if [ "$dry" = 1 ]; then
    # This checkout's build, lavapipe, PyTorch-CPU (Debian's, under /usr/bin/python3) at every
    # thread count from 1 to nproc.
    bin=${VKGRAD_BUILD_DIR:-build} threads=all
    py=/usr/bin/python3 torch_dev=cpu n=$((1 << 20)) squares=256 epochs=1 tests=("gemm on awkward shapes")
    dataset=mnist
    vk_tests=$bin/tests/vkgrad_tests vk_bench=$bin/bench/vkgrad_bench vk_mnist=$bin/samples/mnist/vkgrad-mnist
    vk_sparse=$bin/bench/vkgrad-sparse-bench
    data=data
  else
    for f in "$stage"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
    icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    # NVIDIA's driver manifest may sit outside the loader's default search path (a container's
    # /usr/local/nvidia); VK_ICD_FILENAMES is the older loaders' name for VK_DRIVER_FILES.
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; fi
    vk_tests=$bin/vkgrad_tests vk_bench=$bin/vkgrad_bench vk_mnist=$bin/vkgrad-mnist vk_sparse=$bin/vkgrad-sparse-bench
    data=$stage/data
    step "nvidia-smi" 20 nvidia-smi
  fi
  step "vkgrad_bench" 150 "$vk_bench" -n "$n" -r 20 --gemm-square "$squares" --json "$out/bench.json"
  step "vkgrad_bench --training-step" 30 "$vk_bench" --training-step -r 20
  step "vkgrad-sparse-bench" 60 "$vk_sparse" --repeat 11 --json "$out/sparse.json"
  step "PyTorch peers" 120 "$py" bench/torch_peers.py --device "$torch_dev" -n "$n" -r 20 \
    --gemm-square "$squares" --json "$out/peers.json"
  local model=(--dataset "$dataset" --epochs "$epochs" --batch 128)
  step "vkgrad-mnist" 120 "$vk_mnist" "${model[@]}" --data "$data/$dataset" --hidden 512,256 --activation relu \
    --batchnorm --dropout 0.2 --optimizer adam --lr 1e-3 --no-save --quiet --curves "$out/curves" \
    --metrics-json "$out/mnist_vkgrad.json"
  step "PyTorch MNIST eager" 100 "$py" bench/mnist_pytorch.py "${model[@]}" --data "$data/$dataset" \
    --device "$torch_dev" --threads "$threads" --json "$out/mnist_eager.json"
  step "PyTorch MNIST CUDA graphs" 100 "$py" bench/mnist_pytorch.py "${model[@]}" --data "$data/$dataset" \
    --device "$torch_dev" --threads "$threads" --cuda-graphs --json "$out/mnist_graphs.json"
  # The default kernels: VKGRAD_KERNELS unset (auto) picks the gpu set on a GPU.
  step "conformance suite (default kernels)" 200 env -u VKGRAD_KERNELS "$vk_tests" -r junit -o "$out/tests.xml" \
    "${tests[@]}"
  "$py" - "$out" <<'PY' 2>&1 | tee -a "$out/log.txt"
import json, os, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
bench, peers = load("bench.json"), load("peers.json")
runs = {k: load(f"mnist_{k}.json") for k in ("vkgrad", "eager", "graphs")}
lines = []
if bench:
    lines.append(f"vkgrad: {bench['device']} ({bench['driver'].strip()}), {bench['elements']} elements, "
                 f"median of {bench['repeat']}")
if peers:
    swept = peers.get("threads_swept")
    lines.append(f"PyTorch {peers['torch']} (CUDA {peers['cuda']}) on {peers['device']}, TF32 off"
                 + (f"; each op at its fastest of {swept[0]}..{swept[-1]} CPU threads" if swept else ""))
rows = {r["op"]: r for r in (bench or {}).get("results", [])}
prow = {r["op"]: r for r in (peers or {}).get("results", [])}
torch_copy = prow.get("copy (device to device)", {}).get("gb_per_s")
if rows:
    lines += ["", "| op | ms | GB/s | % of Vulkan copy | % of PyTorch D2D copy |", "| --- | --- | --- | --- | --- |"]
    for op, r in rows.items():
        if "gb_per_s" in r:
            vs_torch = f"{100 * r['gb_per_s'] / torch_copy:.1f} %" if torch_copy else "-"
            lines.append(f"| {op} | {r['ms']:.4f} | {r['gb_per_s']:.1f} | {100 * r['fraction_of_copy']:.1f} % | {vs_torch} |")
    # Each vkgrad GEMM against PyTorch's with the same input type: "gemm f16 <shape>" (f16 A and B,
    # f32 accumulation) against torch's "gemm <shape> f16" (cuBLAS FP16, reduced-precision
    # reduction off), the f32 ones against cuBLAS FP32 with TF32 off.
    lines += ["", "| GEMM | inputs | vkgrad GFLOP/s | PyTorch GFLOP/s (same inputs) | ratio |",
              "| --- | --- | --- | --- | --- |"]
    for op, r in rows.items():
        if "gflop_per_s" in r and op.startswith("gemm"):
            half = op.startswith("gemm f16 ")
            peer_op = ("gemm " + op[len("gemm f16 "):] + " f16") if half else op
            peer = prow.get(peer_op, {}).get("gflop_per_s")
            ratio = f"{100 * r['gflop_per_s'] / peer:.1f} %" if peer else "-"
            lines.append(f"| {op} | {'f16' if half else 'f32'} | {r['gflop_per_s']:.1f} | "
                         f"{f'{peer:.1f}' if peer else '-'} | {ratio} |")
if runs["vkgrad"]:
    lines += ["", "| epoch | vkgrad s | PyTorch eager s | PyTorch CUDA graphs s | vkgrad test acc |",
              "| --- | --- | --- | --- | --- |"]
    for i, e in enumerate(runs["vkgrad"]["epochs"]):
        def sec(k):
            r = runs[k]
            return f"{r['epochs'][i]['seconds']:.2f}" if r and i < len(r["epochs"]) else "-"
        lines.append(f"| {e['epoch']} | {e['seconds']:.2f} | {sec('eager')} | {sec('graphs')} | {100 * e['test_acc']:.2f} % |")
    total = {k: sum(e["seconds"] for e in r["epochs"]) for k, r in runs.items() if r}
    for k in ("eager", "graphs"):
        if runs[k] and runs[k].get("sweep"):
            lines.append(f"\nPyTorch {k} at {runs[k]['threads']} CPU threads, its fastest: "
                         + ", ".join(f"{s['threads']} threads {s['total_seconds']:.2f} s" for s in runs[k]["sweep"]))
        if k in total:
            lines.append(f"\nvkgrad / PyTorch {k}, all epochs: {total['vkgrad'] / total[k]:.3f} "
                         f"({total['vkgrad']:.2f} s vs {total[k]:.2f} s)")
try:
    suites = ET.parse(os.path.join(out, "tests.xml")).getroot()
    failed = [c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None or c.find("error") is not None]
    total_cases = sum(1 for _ in suites.iter("testcase"))
    lines += ["", f"conformance suite: {total_cases - len(failed)} of {total_cases} test cases passed"]
    lines += [f"- failed: {name}" for name in failed]
except (OSError, ET.ParseError) as e:
    lines += ["", f"conformance suite: no JUnit report ({e})"]
with open(os.path.join(out, "mnist.json"), "w") as f:
    json.dump(runs, f, indent=1)
text = "\n".join(lines) + "\n"
open(os.path.join(out, "summary.md"), "w").write(text)
print(text)
PY
  rm -f "$out"/mnist_*.json "$out"/curves.*
}

case "$mode" in
  prepare) prepare ;;
  run) run 0 ;;
  dry-run) run 1 ;;
  *) echo "usage: bash bench/gpu_session.sh prepare | run | dry-run" >&2; exit 2 ;;
esac
