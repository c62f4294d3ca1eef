#!/usr/bin/env bash
# The pure-logic modules of the Rust core, tested on the host in seconds,
# before any kernel is built (unit, property and doc tests).
. "$(dirname "$0")/lib.sh"
CARGO_TARGET_DIR=$REPO/build/host-target \
	cargo test --manifest-path "$REPO/drivers/dma-buf/dmabuf_rs/Cargo.toml"
