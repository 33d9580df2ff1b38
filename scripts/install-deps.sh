#!/usr/bin/env bash
# Installs the Debian packages vkgrad needs to build, test and run, if any are missing.
# Idempotent; prints nothing when everything is already there. Extra package names given as
# arguments are installed too (the benchmark scripts use this for their peers).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libvulkan-dev            # loader, headers, Vulkan-Hpp
  mesa-vulkan-drivers      # lavapipe: a Vulkan device on the CPU
  glslang-tools            # glslangValidator: GLSL -> SPIR-V at build time
  spirv-tools              # spirv-val
  vulkan-validationlayers  # VK_LAYER_KHRONOS_validation (tests run under it)
  vulkan-tools             # vulkaninfo, for diagnosing a machine
  catch2                   # test framework (v2.13)
  libcli11-dev             # command-line parsing (benchmarks, samples)
  nlohmann-json3-dev       # JSON (benchmark results, checkpoint headers)
  zlib1g-dev               # reading gzip-compressed IDX datasets
  doxygen                  # API reference; the api_docs test fails on any undocumented public declaration
  clang-format             # clang-format 14: the format test checks the C++ sources against .clang-format
  libopenmpi-dev openmpi-bin  # MPI for vkgrad::dist (data-parallel training) and its mpiexec tests
  clang                    # clang 14: scripts/test.sh builds the library and the tests with it too
  g++-mingw-w64-x86-64-posix libz-mingw-w64-dev  # MinGW-w64 and its zlib: the Windows build (scripts/windows.sh)
  wine wine64 xvfb xauth   # wine 8 runs the Windows executables; its Vulkan needs an X server (xvfb-run)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "vkgrad: missing packages: ${missing[*]}; run this script as root or install them." >&2
    exit 1
  fi
fi
echo "vkgrad: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
