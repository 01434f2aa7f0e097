#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package CryptoUNet needs to build, test, train and run.
# Installs only what is missing; safe to run again. Needs root (or sudo) the first time.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libgmp-dev libsodium-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libprotobuf-dev protobuf-compiler libonnx-dev
  libstb-dev libpng-dev libtiff-dev libcpp-httplib-dev
  libnifti2-dev libgdcm-dev
  openmpi-bin libopenmpi-dev
  libomp-dev clang libclang-rt-14-dev
  mricron-data
  python3-torch python3-onnx python3-nibabel python3-tqdm python3-numpy
  libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
