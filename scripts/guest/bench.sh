# The benchmark guest's runner (make bench, scripts/bench.sh), sourced by /init
# in dmabufrs_mode=bench. It runs the in-kernel benchmarks (the
# dmabuf_rs_bench module) and the uapi ones (uapi_bench), and copies their
# result lines to the console, where the host (scripts/bench.py) reads them:
#   @B <name> n=... ns_op=...   kernel API
#   @U <name> n=... ns_op=...   uapi

# run_benchmarks FILTER MS CLOCK: FILTER is "all" or comma-separated name
# prefixes (fence, array, chain, unwrap, resv, buf, uapi, xcpu, or longer ones
# such as resv/add); MS the guest time each benchmark's timed loop runs for;
# CLOCK "icount" or "wall" (the cross-CPU boots: kernel benchmarks only).
run_benchmarks() {
	filter=$1
	[ "$filter" = all ] && filter=
	echo "@@@ BEGIN kernel API benchmarks"
	dmesg -c >/dev/null
	insmod /modules/dmabuf_rs_bench.ko filter="$filter" time_ms="$2"
	rc=$?
	dmesg | sed -n 's/^\[ *[0-9]*\.[0-9]*\] //; /^@B /p'
	rmmod dmabuf_rs_bench 2>/dev/null
	echo "@@@ END kernel API benchmarks rc=$rc"
	[ "${3:-icount}" = wall ] && return

	echo "@@@ BEGIN uapi benchmarks"
	/tests/uapi_bench -f "$filter" -t "$2" >/tmp/out 2>&1
	rc=$?
	cat /tmp/out
	echo "@@@ END uapi benchmarks rc=$rc"
}
