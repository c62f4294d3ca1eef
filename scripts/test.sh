#!/usr/bin/env bash
# `make test`: host tests, kernel, test programs, initramfs, one guest run of
# every suite, and the verdict (scripts/report.py).
. "$(dirname "$0")/lib.sh"

SUITES=${SUITES:-all}
t0=$(date +%s)
stage host-tests "$REPO/scripts/host-test.sh"
grep -h '^test result' "$LOGDIR/host-tests.log" | sed 's/^/    /'
# Every unsafe block of the Rust core has its SAFETY comment; the counts are
# shown so that a run says whether the unsafe surface grew.
stage unsafe-count "$REPO/scripts/unsafe-count.py"
grep -h 'unsafe blocks' "$LOGDIR/unsafe-count.log" | sed 's/^/    /'
"$REPO/scripts/kernel.sh"
stage "test programs" "$REPO/scripts/progs.sh"
stage "initramfs" "$REPO/scripts/initramfs.sh"
echo "==> boot and run suites: $SUITES"
"$REPO/scripts/boot.sh" test "$SUITES"

expected=$SUITES
# "all" means the guest's list of suites (scripts/guest/suites.sh).
[ "$expected" = all ] && expected=$(. "$REPO/scripts/guest/suites.sh" && echo "$ALL_SUITES")
# The kernel crate's doctests run at boot whatever SUITES says (KUnit suite
# rust_doctests_kernel); a kernel built with them must show them.
grep -q '^CONFIG_RUST_KERNEL_DOCTESTS=y' "$KOBJ/.config" && expected="rust_doctests,$expected"
echo
echo "Results ($CORE core):"
rc=0
python3 "$REPO/scripts/report.py" "$LOGDIR/console-$CORE.log" "${expected//,/ }" \
	"$(cat "$KOBJ/core-files.txt")" | tee "$LOGDIR/summary-$CORE.txt" || rc=$?
echo "total time $(($(date +%s) - t0))s; logs in $LOGDIR"
exit $rc
