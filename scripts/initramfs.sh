#!/usr/bin/env bash
# Pack the guest's initramfs: busybox, /init and its suite runners, the test
# programs, the dmabuf_selftests and dmabuf_rs_tests modules and the Rust
# sample drivers (samples/dma-buf: the exporter and the edu importer). Built
# with the kernel's own gen_init_cpio from a list, so no root is needed for
# /dev/console.
. "$(dirname "$0")/lib.sh"

PROGS=${PROGS:-$KOBJ/guest-progs}
OUT=${INITRAMFS:-$KOBJ/initramfs.cpio.gz}
GEN=$CACHE/gen_init_cpio
[ "$GEN" -nt "$KSRC/usr/gen_init_cpio.c" ] || gcc -O2 -o "$GEN" "$KSRC/usr/gen_init_cpio.c"

busybox=$(command -v busybox || echo /bin/busybox)
file "$busybox" | grep -q 'statically linked' || die "$busybox is not static (package busybox-static)"
module=$(find "$KOBJ/drivers/dma-buf" -name dmabuf_selftests.ko | head -n1)
[ -n "$module" ] || die "dmabuf_selftests.ko was not built"
rs_tests=$(find "$KOBJ/drivers/dma-buf" -name dmabuf_rs_tests.ko | head -n1)
[ -n "$rs_tests" ] || die "dmabuf_rs_tests.ko was not built"
samples=()
for m in rust_dma_buf_exporter rust_dma_buf_edu; do
	ko=$KOBJ/samples/dma-buf/$m.ko
	[ -f "$ko" ] || die "$m.ko was not built ($ko)"
	samples+=("$ko")
done

list=$KOBJ/initramfs.list
{
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in bin sbin dev proc sys tmp etc lib lib/dmabufrs modules tests tests/dma-buf; do
		echo "dir /$d 0755 0 0"
	done
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "slink /bin/sh busybox 0777 0 0"
	echo "file /init $REPO/scripts/guest/init 0755 0 0"
	echo "file /lib/dmabufrs/suites.sh $REPO/scripts/guest/suites.sh 0644 0 0"
	echo "file /modules/dmabuf_selftests.ko $module 0644 0 0"
	echo "file /modules/dmabuf_rs_tests.ko $rs_tests 0644 0 0"
	for ko in "${samples[@]}"; do
		echo "file /modules/${ko##*/} $ko 0644 0 0"
	done
	echo "file /tests/udmabuf $PROGS/drivers/dma-buf/udmabuf 0755 0 0"
	echo "file /tests/dmabuf-heap $PROGS/dmabuf-heaps/dmabuf-heap 0755 0 0"
	echo "file /tests/sync_test $PROGS/sync/sync_test 0755 0 0"
	echo "file /tests/demo $PROGS/samples/demo 0755 0 0"
	# The project's kselftests: every program their Makefile built.
	for t in $(find "$PROGS/dma-buf" -maxdepth 1 -type f -executable -printf '%f\n' | sort); do
		echo "file /tests/dma-buf/$t $PROGS/dma-buf/$t 0755 0 0"
	done
} >"$list"
"$GEN" "$list" | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "initramfs: $OUT ($(du -h "$OUT" | cut -f1))"
