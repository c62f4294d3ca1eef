#!/usr/bin/env bash
# `make bench`: the Rust core against the C core, path by path. Builds the two
# benchmark kernels (base.config + core-$CORE.config + bench.config: no debug
# options, the dmabuf_rs_bench module), each in its own object tree
# ($CACHE/build-bench-c, build-bench-rust; the test trees are not touched),
# the uapi benchmark program and a small initramfs; boots each kernel
# BENCH_REPS times, C and Rust interleaved, under single-threaded TCG with
# -icount shift=0,sleep=off (the guest clock counts instructions); then
# scripts/bench.py prints the table and writes build/bench/results.csv, the
# chart and Documentation/dma-buf/performance.rst.
#
# Variables: BENCH=prefix,... (a subset: fence, array, chain, unwrap, resv,
# buf, uapi, or longer prefixes such as resv/add), BENCH_REPS (boots per
# core, default 3), BENCH_TIME_MS (guest time per benchmark, default 1000).
# Every kernel build and boot runs under flock $BENCH_LOCK (default
# /tmp/kbuild.lock), shared with `make test` runs on the same machine.
. "$(dirname "$0")/lib.sh"

BENCH=${BENCH:-all}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_TIME_MS=${BENCH_TIME_MS:-1000}
BENCH_LOCK=${BENCH_LOCK:-/tmp/kbuild.lock}
OUT=$REPO/build/bench
export LOGDIR=$OUT/logs
export BENCH_TIME_MS
mkdir -p "$LOGDIR"
t0=$(date +%s)

# locked CMD...: run CMD under the shared build/boot lock, saying so when it waits.
locked() {
	if ! flock -n "$BENCH_LOCK" true; then
		echo "    waiting for $BENCH_LOCK (another build or guest is running)"
	fi
	flock "$BENCH_LOCK" "$@"
}

# The uapi program, against headers_install of the benchmark kernel.
uapi_prog() {
	local hdr=$KOBJ/bench-headers
	rm -rf "$hdr"
	"${KMAKE[@]}" headers_install INSTALL_HDR_PATH="$hdr"
	gcc -static -O2 -Wall -Werror -isystem "$hdr/include" -o "$KOBJ/uapi_bench" \
		"$REPO/tools/testing/dmabuf-rs-bench/uapi_bench.c"
}

# The benchmark guest's initramfs: busybox, /init, the module, the program.
bench_initramfs() {
	local gen=$CACHE/gen_init_cpio list=$KOBJ/bench-initramfs.list busybox
	[ "$gen" -nt "$KSRC/usr/gen_init_cpio.c" ] || gcc -O2 -o "$gen" "$KSRC/usr/gen_init_cpio.c"
	busybox=$(command -v busybox || echo /bin/busybox)
	file "$busybox" | grep -q 'statically linked' || die "$busybox is not static (package busybox-static)"
	ko=$KOBJ/drivers/dma-buf/dmabuf_rs_bench/dmabuf_rs_bench.ko
	[ -f "$ko" ] || die "dmabuf_rs_bench.ko was not built ($ko)"
	{
		echo "nod /dev/console 0600 0 0 c 5 1"
		for d in bin sbin dev proc sys tmp etc lib lib/dmabufrs modules tests; do
			echo "dir /$d 0755 0 0"
		done
		echo "file /bin/busybox $busybox 0755 0 0"
		echo "slink /bin/sh busybox 0777 0 0"
		echo "file /init $REPO/scripts/guest/init 0755 0 0"
		echo "file /lib/dmabufrs/suites.sh $REPO/scripts/guest/suites.sh 0644 0 0"
		echo "file /lib/dmabufrs/bench.sh $REPO/scripts/guest/bench.sh 0644 0 0"
		echo "file /modules/dmabuf_rs_bench.ko $ko 0644 0 0"
		echo "file /tests/uapi_bench $KOBJ/uapi_bench 0755 0 0"
	} >"$list"
	"$gen" "$list" | gzip -1 >"$KOBJ/bench-initramfs.cpio.gz"
}

# Steps that run with one benchmark tree's settings (CORE, KOBJ from the environment).
case "${1:-}" in
_uapi) uapi_prog; exit ;;
_initramfs) bench_initramfs; exit ;;
esac

for core in c rust; do
	benv=(env CORE="$core" KOBJ="$CACHE/build-bench-$core" KCONFIG_EXTRA="$REPO/config/bench.config")
	# kernel.sh prints its own stages (unpack+overlay, configure, build kernel);
	# the overlay relinks the shared source tree, so it runs under the lock too.
	locked "${benv[@]}" "$REPO/scripts/kernel.sh"
	stage "uapi program ($core)" locked "${benv[@]}" "$0" _uapi
	stage "initramfs ($core)" "${benv[@]}" "$0" _initramfs
done

# selects_xcpu: whether BENCH selects the cross-CPU benchmarks (xcpu/...).
selects_xcpu() {
	local p
	[ "$BENCH" = all ] && return 0
	for p in ${BENCH//,/ }; do
		case "xcpu/" in "$p"*) return 0 ;; esac
		case "$p" in xcpu*) return 0 ;; esac
	done
	return 1
}

# boot_bench CORE CONSOLE CLOCK FILTER: one benchmark guest.
boot_bench() {
	locked env CORE="$1" KOBJ="$CACHE/build-bench-$1" CONSOLE="$2" BENCH_CLOCK="$3" \
		INITRAMFS="$CACHE/build-bench-$1/bench-initramfs.cpio.gz" \
		GUEST_TIMEOUT="${GUEST_TIMEOUT:-3600}" "$REPO/scripts/boot.sh" bench "$4"
	grep -aq '^@@@ DONE' "$2" || die "the $1 guest did not finish (console: $2)"
}

rm -f "$OUT"/console-*.log
for rep in $(seq 1 "$BENCH_REPS"); do
	for core in c rust; do
		echo "==> benchmarks, $core core, run $rep of $BENCH_REPS"
		boot_bench "$core" "$OUT/console-$core-$rep.log" icount "$BENCH"
	done
done
# The cross-CPU benchmarks need two vCPUs, so they run in their own boots,
# under multi-threaded TCG and the real clock (the icount boots skip them).
if selects_xcpu; then
	for rep in $(seq 1 "$BENCH_REPS"); do
		for core in c rust; do
			echo "==> cross-CPU benchmarks (wall clock), $core core, run $rep of $BENCH_REPS"
			boot_bench "$core" "$OUT/console-$core-wall-$rep.log" wall xcpu
		done
	done
fi

echo "==> results"
# The previous run's table, to say how far this run's figures moved from it
# (on an unchanged tree, a check that the figures repeat).
prev=()
if [ -f "$OUT/results.csv" ]; then
	mv "$OUT/results.csv" "$OUT/results.prev.csv"
	prev=(--prev "$OUT/results.prev.csv")
fi
python3 "$REPO/scripts/bench.py" --out "$OUT" --doc "$REPO/Documentation/dma-buf/performance.rst" \
	--filter "$BENCH" --time-ms "$BENCH_TIME_MS" "${prev[@]}" "$OUT"/console-*.log
echo "make bench took $(($(date +%s) - t0))s; logs in $LOGDIR, consoles in $OUT"
