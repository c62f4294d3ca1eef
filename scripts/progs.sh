#!/usr/bin/env bash
# Build the guest's test programs, statically, against `make headers_install`
# of the kernel under test: the upstream kselftests (udmabuf, dmabuf-heap,
# sync) from the kernel source with their own Makefiles, unmodified, and the
# project's kselftests (tools/testing/selftests/dma-buf) and demo program.
. "$(dirname "$0")/lib.sh"

OUT=${PROGS:-$KOBJ/guest-progs}
rm -rf "$HDR.tmp"
"${KMAKE[@]}" headers_install INSTALL_HDR_PATH="$HDR.tmp"
rm -rf "$HDR" && mv "$HDR.tmp" "$HDR"
# The sample drivers' uapi (include/uapi/linux/dma-buf-sample.h) reaches the
# tree through scripts/tree.sh's overlay and is installed with the rest.
[ -f "$HDR/include/linux/dma-buf-sample.h" ] ||
	die "headers_install did not install linux/dma-buf-sample.h (not linked into $KSRC/include/uapi?)"

kself() { # kself DIR: build one kselftest directory into $OUT/DIR
	mkdir -p "$OUT/$1"
	make -C "$KSRC/tools/testing/selftests/$1" OUTPUT="$OUT/$1" CC="gcc -static" \
		KHDR_INCLUDES="-isystem $HDR/include" top_srcdir="$KSRC" all
}
kself drivers/dma-buf
kself dmabuf-heaps
kself sync
kself dma-buf

mkdir -p "$OUT/samples"
gcc -static -O2 -Wall -Werror -isystem "$HDR/include" -o "$OUT/samples/demo" "$REPO/samples/dma-buf/demo.c"
echo "test programs in $OUT"
