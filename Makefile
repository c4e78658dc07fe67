# aimclr: build, test, demo and benchmarks. Every target installs the system
# packages it needs first, so a fresh Debian machine needs only `make demo` / `make test`.

SHELL        := /bin/bash
SWIFT        ?= swift
# libopenmpi-dev and openmpi-bin: data-parallel training under mpirun and its multi-rank tests.
# zlib1g-dev and chromium: the report tests decode a headless-Chromium screenshot of a report.
APT_PACKAGES := pkg-config ocl-icd-opencl-dev opencl-headers libclblast-dev \
                libopenblas-dev pocl-opencl-icd clinfo python3 python3-venv zlib1g-dev chromium \
                libopenmpi-dev openmpi-bin
# TensorBoard's own reader, for the tests that read the runs' event files back.
TB_VENV      := .build/tbvenv
RELEASE_BIN  := .build/release/aimclr
DEMO_DIR     ?= data/synthetic
export OPENBLAS_NUM_THREADS ?= $(shell nproc)

.PHONY: deps build release test demo bench bench-step bench-compare clean

# Installs whatever of APT_PACKAGES is missing (apt-get update once, then install).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product aimclr

# A crash report of only the crashed thread's frames, so the end of the output says where; after a
# failure the tests that started but never finished and every fatal-error line are repeated last.
TEST_LOG     := .build/test.log
test: export SWIFT_BACKTRACE ?= enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=40
test: deps $(TB_VENV)/bin/tensorboard
	$(SWIFT) build --build-tests
	@set -o pipefail; $(SWIFT) test --skip-build 2>&1 | tee $(TEST_LOG) || { \
	  echo "== make test failed; from $(TEST_LOG):"; \
	  grep -E "Fatal error|Crash|crashed|Precondition failed|Assertion failed|error: Process" $(TEST_LOG) | head -20; \
	  awk '/^Test Case .* started/ {open[$$3] = 1} /^Test Case .* (passed|failed|skipped)/ {delete open[$$3]} \
	       END {for (t in open) print "started, never finished: " t}' $(TEST_LOG); \
	  grep -E "^Test Case .* failed|error: -\[|: error: " $(TEST_LOG) | head -20; \
	  exit 1; }

demo: release
	$(RELEASE_BIN) demo --data $(DEMO_DIR)

bench: release
	$(RELEASE_BIN) bench ops --device all

clean:
	rm -rf .build

# Created once (pip fetches tensorboard from PyPI); `make clean` removes it with the build.
$(TB_VENV)/bin/tensorboard:
	python3 -m venv $(TB_VENV) && $(TB_VENV)/bin/pip install -q tensorboard

# A full pretraining iteration on the CPU backend and on PyTorch, in one invocation.
TORCH_PYTHON ?= python3
GLIBC_TUNED  := glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
bench-step: release
	$(RELEASE_BIN) bench step --device cpu --profile

# Alternating rounds (aimclr, then PyTorch, COMPARE_ROUNDS times, COMPARE_RUNS timed iterations each)
# so that a machine whose speed drifts affects both sides alike; the ratios are per round.
COMPARE_ROUNDS ?= 5
COMPARE_RUNS   ?= 3
# CPU_ISA=avx2 caps both sides to AVX2+FMA on a machine that has AVX-512, to measure what a CPU
# without it gets: our kernels (AIMCLR_CPU_ISA), OpenBLAS (Haswell kernels), PyTorch's ATen and oneDNN.
CPU_ISA ?=
ifeq ($(CPU_ISA),avx2)
bench-compare: export AIMCLR_CPU_ISA := avx2
bench-compare: export OPENBLAS_CORETYPE := Haswell
bench-compare: export ATEN_CPU_CAPABILITY := avx2
bench-compare: export DNNL_MAX_CPU_ISA := AVX2
endif
bench-compare: release
	@$(TORCH_PYTHON) -c "import torch" 2>/dev/null || { echo "bench-compare needs PyTorch: set TORCH_PYTHON to a python with torch installed"; exit 1; }
	@rm -f bench-compare.txt
	@for r in $$(seq $(COMPARE_ROUNDS)); do \
	  echo "round $$r of $(COMPARE_ROUNDS)" | tee -a bench-compare.txt; \
	  $(RELEASE_BIN) bench step --device cpu --runs $(COMPARE_RUNS) --json bench-compare.jsonl | tee -a bench-compare.txt || exit 1; \
	  GLIBC_TUNABLES=$(GLIBC_TUNED) $(TORCH_PYTHON) Benchmarks/pytorch_reference.py --threads $$(nproc) \
	    --iterations $(COMPARE_RUNS) | tee -a bench-compare.txt || exit 1; \
	done
	@python3 Benchmarks/compare.py bench-compare.txt
