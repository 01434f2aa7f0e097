#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages one CryptoUNet task needs, and only those that are
# missing; safe to run again. Needs root (or sudo) the first time something is missing.
#   scripts/install-deps.sh build   build and run `cryptounet` (what `make demo` needs; no Python)
#   scripts/install-deps.sh test    build + the test suites, benchmarks, fuzzing and the Python
#                                   training smoke test (what `make test` needs)
#   scripts/install-deps.sh train   build + datasets and training (`make data`, `make train-*`)
#   scripts/install-deps.sh all     every set
#   scripts/install-deps.sh --list SET   print the packages of SET, one per line, and exit
# Several sets may be named at once; no argument means `build`.
set -euo pipefail

# Compiler, CMake and the libraries the `cryptounet` binary links (OpenSSL, CLI11, JSON, protobuf +
# ONNX, stb, libtiff, libgdcm, libnifti2, cpp-httplib).
build_packages=(
  build-essential cmake pkg-config
  libssl-dev libcli11-dev nlohmann-json3-dev
  libprotobuf-dev protobuf-compiler libonnx-dev
  libstb-dev libtiff-dev libcpp-httplib-dev
  libnifti2-dev libgdcm-dev
)
# GoogleTest/Benchmark, GMP (exact reference arithmetic in tests), Open MPI (the distributed layer
# and its mpirun tests; the CLI builds without it), clang + libFuzzer for the short fuzzing pass, and PyTorch/ONNX for the training smoke test.
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev libgmp-dev
  openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev libomp-dev
  python3 python3-numpy python3-torch python3-onnx
)
# PyTorch training, NIfTI reading for the brain data, and the MRI volumes themselves.
train_packages=(
  python3 python3-numpy python3-torch python3-onnx python3-nibabel python3-tqdm
  libopenblas0-pthread mricron-data
)

list_only=0
if [ "${1:-}" = --list ]; then
  list_only=1
  shift
fi
sets=("$@")
[ ${#sets[@]} -eq 0 ] && sets=(build)

packages=()
for s in "${sets[@]}"; do
  case "$s" in
    build) packages+=("${build_packages[@]}") ;;
    test) packages+=("${build_packages[@]}" "${test_packages[@]}") ;;
    train) packages+=("${build_packages[@]}" "${train_packages[@]}") ;;
    all) packages+=("${build_packages[@]}" "${test_packages[@]}" "${train_packages[@]}") ;;
    *)
      echo "install-deps: unknown set '$s' (build, test, train, all)" >&2
      exit 2
      ;;
  esac
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')

if [ "$list_only" = 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps (${sets[*]}): installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
