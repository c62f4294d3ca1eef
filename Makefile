# dmabuf-rs: the Linux dma-buf core in Rust. Entry points; the work is done by
# the scripts in scripts/. Variables: CORE=rust|c, SUITES=a,b, ST_FILTER=...,
# KCONFIG_EXTRA=frag.config, DMABUF_CACHE=dir, ACCEL=auto|kvm|tcg,
# STRESS=long (or STRESS_MS=ms, FUZZ_SEEDS=first:count) for longer
# reliability suites.

SHELL := /bin/bash
export CORE SUITES ST_FILTER KCONFIG_EXTRA DMABUF_CACHE ACCEL GUEST_TIMEOUT
export BENCH BENCH_REPS BENCH_TIME_MS STRESS STRESS_MS FUZZ_SEEDS

.PHONY: all setup kernel test run bench docs clean help fuzz-golden unsafe-count

all: help

help:
	@echo "make run     build the kernel and boot into the dma-buf demonstration"
	@echo "make test    run every test suite (CORE=c for the upstream C core)"
	@echo "make kernel  build only the kernel (KCONFIG_EXTRA=frag.config to add options)"
	@echo "make bench   the Rust core against the C core (BENCH=resv,... for a subset)"
	@echo "make docs    build Documentation/dma-buf with Sphinx (warnings are errors)"
	@echo "make fuzz-golden  record the C core's fuzz trace hashes (the fuzz oracle)"
	@echo "make unsafe-count the Rust core's unsafe surface, per file (and missing SAFETY comments)"

setup:
	@source scripts/lib.sh && stage setup scripts/setup.sh

kernel: setup
	@scripts/kernel.sh
	@source scripts/lib.sh && echo "bzImage: $$KOBJ/arch/x86/boot/bzImage" && \
		"$${KMAKE[@]}" -s modules_install INSTALL_MOD_PATH="$$KOBJ/modules-staging" && \
		echo "modules: $$KOBJ/modules-staging"

test: setup
	@scripts/test.sh

run: setup
	@scripts/run.sh

bench: setup
	@scripts/bench.sh

fuzz-golden: setup
	@CORE=c scripts/fuzz-golden.sh

unsafe-count:
	@scripts/unsafe-count.py --files

docs:
	@sphinx-build -W -q -b html Documentation/dma-buf build/docs && echo "docs: build/docs/index.html"

clean:
	rm -rf build
