#!/usr/bin/env bash
# Install what the pipeline needs on a Debian 12 machine: Debian packages, the
# rust-src component and a pinned bindgen-cli. Quick when everything is there.
. "$(dirname "$0")/lib.sh"

PACKAGES=(linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev qemu-system-x86
	busybox-static flex bison bc cpio libelf-dev libssl-dev dwarves kmod rsync xz-utils
	gcc make python3-sphinx)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing Debian packages: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -q || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" ||
		die "could not install Debian packages: ${missing[*]}"
fi

command -v rustup >/dev/null || die "rustup not found: the machine's Rust toolchain is required"
sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
	rustup component add rust-src || die "could not install the rust-src component"
fi

if ! bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	cargo install --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		die "could not install bindgen-cli $BINDGEN_VERSION"
fi
echo "setup complete"
