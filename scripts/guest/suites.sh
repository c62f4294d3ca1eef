# Suite runners of the test guest, sourced by /init. Each prints its output
# between BEGIN and END markers; the host (scripts/report.py) decides what
# passed from that output, so nothing here judges results.

ALL_SUITES="dmabuf_selftests dmabuf_rs_tests udmabuf dmabuf-heap sync dma-buf fuzz"

# TCG switches to the tsc clocksource about a second after boot; the upstream
# dma_fence race test busy-waits and stalls if that happens under it.
wait_clocksource() {
	i=0
	while [ $i -lt 50 ]; do
		dmesg | grep -q "Switched to clocksource tsc" && return
		sleep 0.2
		i=$((i + 1))
	done
}

begin() {
	echo "@@@ BEGIN $1"
}

end() {
	echo "@@@ END $1 rc=$2"
}

# The Rust sample drivers (samples/dma-buf), loaded once before any suite: the
# dma-buf/samples test and the demo need their devices. They are always built,
# so a module that does not load is reported ("@@@ INSMOD FAILED", which the
# host counts as a failure) and the samples test then fails for want of its
# devices.
SAMPLE_MODULES="rust_dma_buf_exporter rust_dma_buf_edu"
load_sample_modules() {
	for m in $SAMPLE_MODULES; do
		out=$(insmod "/modules/$m.ko" 2>&1)
		rc=$?
		[ $rc -eq 0 ] && continue
		echo "@@@ INSMOD FAILED $m.ko rc=$rc: $(echo "$out" | tr '\n' ' ')"
	done
}

# Run a userspace test, keeping its output whole until it has finished so that
# kernel messages do not land in the middle of its lines.
run_prog() {
	suite=$1
	shift
	begin "$suite"
	"$@" >/tmp/out 2>&1
	rc=$?
	cat /tmp/out
	end "$suite" "$rc"
}

run_dmabuf_selftests() {
	begin dmabuf_selftests
	dmesg -c >/dev/null
	if [ -n "${dmabufrs_st_filter:-}" ]; then
		insmod /modules/dmabuf_selftests.ko "st_filter=$dmabufrs_st_filter"
	else
		insmod /modules/dmabuf_selftests.ko
	fi
	rc=$?
	dmesg | grep 'dma-buf' | sed 's/^/@st /'
	rmmod dmabuf_selftests 2>/dev/null
	end dmabuf_selftests "$rc"
}

# The project's in-kernel tests are KUnit suites, run by insmod, with KTAP on
# the kernel log: copy the module's kernel messages as "@kt <line>", printk
# timestamp cut off and KTAP's indentation kept.
run_dmabuf_rs_tests() {
	begin dmabuf_rs_tests
	dmesg -c >/dev/null
	insmod /modules/dmabuf_rs_tests.ko ${dmabufrs_stress_ms:+stress_ms=$dmabufrs_stress_ms}
	rc=$?
	dmesg | sed -e 's/^\[ *[0-9]*\.[0-9]*\] //' -e 's/^/@kt /'
	rmmod dmabuf_rs_tests 2>/dev/null
	end dmabuf_rs_tests "$rc"
}

# Make every allocation eligible for the per-task fault injection
# (fail-nth) that the faults suites arm (dma-buf/faults and dmabuf_rs_tests'
# dmabuf_rs_faults): by default it skips allocations that may sleep, high
# memory and order 0, and prints a stack per fault. Nothing fails unless a
# task arms it, as the probability stays 0. Kernels without fault
# injection have no such files.
setup_fault_injection() {
	d=/sys/kernel/debug
	[ -d $d/failslab ] || return
	echo N >$d/failslab/ignore-gfp-wait
	echo 0 >$d/failslab/verbose
	echo N >$d/fail_page_alloc/ignore-gfp-wait
	echo N >$d/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$d/fail_page_alloc/min-order
	echo 0 >$d/fail_page_alloc/verbose
}

run_suite() {
	case "$1" in
	dmabuf_selftests) run_dmabuf_selftests ;;
	dmabuf_rs_tests) run_dmabuf_rs_tests ;;
	udmabuf) run_prog udmabuf /tests/udmabuf ;;
	dmabuf-heap) run_prog dmabuf-heap /tests/dmabuf-heap ;;
	sync) run_prog sync /tests/sync_test ;;
	dma-buf)
		for t in /tests/dma-buf/*; do
			[ "${t##*/}" = fuzz ] || run_prog "dma-buf/${t##*/}" "$t"
		done ;;
	# The fuzzer's traces are judged against the C core's by the host.
	fuzz) run_prog fuzz /tests/dma-buf/fuzz ;;
	*) begin "$1"; echo "no such suite: $1"; end "$1" 127 ;;
	esac
}

run_suites() {
	list=$1
	[ "$list" = all ] && list=$ALL_SUITES
	for s in $(echo "$list" | tr ',' ' '); do
		run_suite "$s"
	done
}

# kmemleak only reports objects older than 5 s: let the last tests' objects age,
# scan twice (as its documentation advises) and print whatever it found.
check_leaks() {
	[ -e /sys/kernel/debug/kmemleak ] || return
	begin kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
	end kmemleak 0
}
