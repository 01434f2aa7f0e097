# CryptoUNet: `make demo` runs the main job, `make test` runs every test. Each installs the missing
# Debian packages of its own set first (scripts/install-deps.sh build | test | train), then configures
# and builds with CMake: `make demo` needs no Python and builds only the `cryptounet` binary.
SHELL  := /bin/bash
BUILD  ?= build
JOBS   ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
CLI    := $(BUILD)/apps/cryptounet

.PHONY: all deps deps-build deps-test deps-train configure build build-cli test demo bench data \
        train-brain train-brain256 train-nuclei asan fuzz clean

all: build

deps: deps-test

deps-build:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-train:
	@scripts/install-deps.sh train

# CMake's "Built target" and "Consolidate ..." lines say nothing on an up-to-date build: drop them
# (compiler lines, warnings and errors still show; a failed build still fails).
QUIET_BUILD = set -o pipefail; cmake --build $(BUILD) -j$(JOBS) $(1) 2>&1 | \
  { grep -v -E '^\[ *[0-9]+%\] Built target |^Consolidate compiler generated dependencies|^ninja: no work to do' || true; }

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

# Everything: libraries, the CLI, tests, benchmarks, examples; the MPI modes too (the test set
# installs Open MPI; a build first configured by `make demo` without it would keep CU_MPI=OFF).
build: deps-test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCU_MPI=ON >/dev/null
	@$(call QUIET_BUILD)

# Only the `cryptounet` binary (what the demo and `make bench` run).
build-cli: deps-build configure
	@$(call QUIET_BUILD,--target cryptounet)

# Every test: a short libFuzzer pass over every deserialiser (TEST_FUZZ_SECONDS per target, 0 skips
# it; `make fuzz` runs longer), then all CTest suites (C++, examples, README commands, the Python
# training smoke test).
TEST_FUZZ_SECONDS ?= 2
test: build
	@if [ "$(TEST_FUZZ_SECONDS)" != 0 ]; then $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS); fi
	@scripts/run-tests.sh $(BUILD)

demo: build-cli
	@scripts/demo.sh $(BUILD)

bench: build-cli
	@$(CLI) bench ckks --params P1

# Datasets (not committed): data/brain-{64,128,256} and their ch2better twins data/brain-*-ch2better from
# Debian's mricron-data (Python), data/nuclei-64 from the seeded C++ generator.
data: deps-train build-cli
	@$(PYTHON) train/prepare_brain.py --out data
	@if $(CLI) dataset synth --help >/dev/null 2>&1; then \
	  $(CLI) dataset synth --count 600 --size 64 --seed 1 --out data/nuclei-64; \
	else echo "data: '$(CLI) dataset synth' unavailable; data/nuclei-64 not made"; fi

# Retrain the bundled models (models/*.onnx + cards) and refresh their fixtures (tests/fixtures/).
train-brain: data
	@train/train_models.sh brain

train-brain256: data
	@train/train_models.sh brain256

train-nuclei: data
	@train/train_models.sh nuclei

# Sanitizer build of the test suites (AddressSanitizer + UndefinedBehaviorSanitizer).
asan: deps-test
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DCU_SANITIZE=ON -DCU_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@cd $(BUILD)-asan && ctest --output-on-failure -j$(JOBS)

# libFuzzer targets for every deserialiser (clang + ASan + UBSan), each run FUZZ_SECONDS from a
# generated seed corpus; findings land in $(BUILD)-fuzz/fuzz-artifacts/.
FUZZ_SECONDS ?= 30
fuzz: deps-test
	@cmake -S . -B $(BUILD)-fuzz -DCU_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCU_BUILD_TESTS=OFF -DCU_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS) --target fuzz_all
	@scripts/run-fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
