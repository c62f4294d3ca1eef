#!/usr/bin/env bash
# Boot the kernel under test in QEMU with the initramfs, and follow its console:
# one line per suite as it starts, with its time when it ends. The whole
# console goes to $CONSOLE. A guest that runs past $GUEST_TIMEOUT seconds is
# killed and reported with its last console lines.
#
# Usage: boot.sh MODE [SUITES]     MODE: test | run | bench
# (bench: the benchmark guest of scripts/bench.sh, SUITES its filter; it runs
# under single-threaded TCG with -icount, one vCPU, so the guest clock counts
# instructions; with BENCH_CLOCK=wall, under multi-threaded TCG with two
# vCPUs and the real clock, for the cross-CPU benchmarks.)
. "$(dirname "$0")/lib.sh"

MODE=${1:-test}
SUITES=${2:-all}
CONSOLE=${CONSOLE:-$LOGDIR/console-$CORE.log}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-1800}
KERNEL=$KOBJ/arch/x86/boot/bzImage
INITRAMFS=${INITRAMFS:-$KOBJ/initramfs.cpio.gz}

# hugepages: the udmabuf kselftest's hugetlb case takes 1024 huge pages.
APPEND="console=ttyS0 panic=-1 hugepages=1100 dmabufrs_mode=$MODE dmabufrs_suites=$SUITES"
[ -n "${ST_FILTER:-}" ] && APPEND+=" dmabufrs_st_filter=$ST_FILTER"
# The reliability suites' budget: STRESS=long runs each stress case for
# STRESS_MS (default a minute) and the fuzzer over FUZZ_SEEDS (FIRST:COUNT,
# default 0:2000); either can also be given alone.
if [ "${STRESS:-}" = long ]; then
	STRESS_MS=${STRESS_MS:-60000}
	FUZZ_SEEDS=${FUZZ_SEEDS:-0:2000}
fi
[ -n "${STRESS_MS:-}" ] && APPEND+=" dmabufrs_stress_ms=$STRESS_MS"
[ -n "${FUZZ_SEEDS:-}" ] && APPEND+=" dmabufrs_fuzz_seeds=$FUZZ_SEEDS"
[ "$MODE" = bench ] && APPEND="console=ttyS0 panic=-1 quiet dmabufrs_mode=bench dmabufrs_suites=$SUITES dmabufrs_bench_ms=${BENCH_TIME_MS:-1000} dmabufrs_bench_clock=${BENCH_CLOCK:-icount}"
QEMU=(qemu-system-x86_64 -nographic -no-reboot -monitor none -serial stdio
	-kernel "$KERNEL" -initrd "$INITRAMFS"
	# The edu importer sample sets a 64-bit DMA mask; edu's default is 28 bits.
	-device edu,dma_mask=0xffffffffffffffff)

# KVM only when it really boots this kernel: on some machines /dev/kvm exists
# but a 64-bit guest dies in the decompressor. The probe boots to /init and
# looks for its marker; anything else falls back to TCG.
probe_kvm() {
	[ -w /dev/kvm ] || return 1
	timeout 30 "${QEMU[@]}" -accel kvm -cpu host -smp 1 -m 1G \
		-append "console=ttyS0 panic=-1 dmabufrs_mode=probe" </dev/null 2>&1 |
		grep -q '@@@ PROBE OK'
}
SMP=2
if [ "$MODE" = bench ] && [ "${BENCH_CLOCK:-icount}" = wall ]; then
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
	echo "    accelerator: TCG, multi-threaded, two vCPUs, wall clock (cross-CPU benchmarks)"
elif [ "$MODE" = bench ]; then
	ACCEL_ARGS=(-accel tcg -icount shift=0,sleep=off -cpu max)
	SMP=1
	echo "    accelerator: TCG, single-threaded, -icount shift=0,sleep=off (guest time counts instructions)"
elif [ "${ACCEL:-auto}" = kvm ] || { [ "${ACCEL:-auto}" = auto ] && probe_kvm; }; then
	ACCEL_ARGS=(-accel kvm -cpu host)
	echo "    accelerator: KVM"
else
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
	echo "    accelerator: TCG (KVM not usable here: /dev/kvm missing or the probe boot failed)"
fi

t0=$(date +%s)
"${QEMU[@]}" "${ACCEL_ARGS[@]}" -smp $SMP -m 4G -append "$APPEND" </dev/null >"$CONSOLE" 2>&1 &
qemu=$!

# Follow the console: print a line as each suite begins and its time as it ends.
shown=0
started=$t0
demo=0
follow() {
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		[ $n -le $shown ] && continue
		shown=$n
		case "$line" in
		"@@@ KERNEL "*) printf '    boot: %ss (%s)\n' "$(($(date +%s) - t0))" "${line#@@@ KERNEL }" ;;
		"@@@ BEGIN "*) started=$(date +%s); printf '==> %-28s ' "${line#@@@ BEGIN }" ;;
		"@@@ END "*) printf '%4ss\n' "$(($(date +%s) - started))" ;;
		"@@@ DEMO START") demo=1 ;;
		"@@@ INSMOD FAILED "*) printf '    %s\n' "${line#@@@ }" ;;
		"@@@ DEMO "* | "@@@ DONE") ;;
		\[*) ;; # kernel messages
		*) # In run mode, show what the demo prints (not the firmware's lines).
			if [ "$MODE" = run ] && [ $demo = 1 ]; then
				printf '%s\n' "$line"
			fi ;;
		esac
	done < <(grep -a '^@@@ \|^[^@]' "$CONSOLE" | tr -d '\r' | { [ "$MODE" = run ] && cat || grep '^@@@ '; })
}
timed_out=0
while kill -0 "$qemu" 2>/dev/null; do
	sleep 1
	follow
	if [ $(($(date +%s) - t0)) -ge "$GUEST_TIMEOUT" ]; then
		kill "$qemu" 2>/dev/null
		timed_out=1
	fi
done
wait "$qemu" 2>/dev/null || true
follow
if [ $timed_out = 1 ]; then
	echo
	echo "guest killed: still running after ${GUEST_TIMEOUT}s; last console lines:"
	tail -n 30 "$CONSOLE" | sed 's/^/    /'
	echo "@@@ TIMEOUT" >>"$CONSOLE"
fi
echo "    guest ran $(($(date +%s) - t0))s; console log: $CONSOLE"
