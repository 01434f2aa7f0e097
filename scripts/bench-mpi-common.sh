# Sourced by the MPI benchmarks (bench-mpi.sh, bench-serve-mpi.sh) after they set $build and $me
# (the script's name for messages): the CLI, the bundled brain64 model and sample, mpirun (run as
# root if need be), the CPU's name, and median().
cli=$(realpath "$build/apps/cryptounet")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=$root/models/brain64.onnx
image=$root/models/samples/brain64_test.png
mpirun=$(command -v mpirun) || { echo "$me: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
