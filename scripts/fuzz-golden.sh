#!/usr/bin/env bash
# `make fuzz-golden`: the C core's hashes of the fuzz traces, the oracle that
# every `make test` compares its fuzz seeds with (scripts/report.py). Builds
# and boots the C core's test kernel with the fuzz suite only, then writes
# tools/testing/selftests/dma-buf/fuzz.golden. Run it after changing the
# generator (tools/testing/selftests/dma-buf/fuzz.c) or its default seeds.
. "$(dirname "$0")/lib.sh"

[ "$CORE" = c ] || die "the oracle is the C core: run with CORE=c (make fuzz-golden does)"
GOLDEN=$REPO/tools/testing/selftests/dma-buf/fuzz.golden

"$REPO/scripts/kernel.sh"
stage "test programs" "$REPO/scripts/progs.sh"
stage "initramfs" "$REPO/scripts/initramfs.sh"
echo "==> boot and run suites: fuzz"
"$REPO/scripts/boot.sh" test fuzz

console=$LOGDIR/console-c.log
python3 "$REPO/scripts/report.py" --splats "$console" || die "the C core's fuzz run shows a kernel report"
{
	echo "# The C core's fuzz trace hashes: seed, hash, calls per seed."
	echo "# Written by \`make fuzz-golden\` (scripts/fuzz-golden.sh); do not edit."
	sed -n 's/^ok [0-9]* fuzz seed \([0-9]*\): hash \([0-9a-f]*\) calls \([0-9]*\).*/\1 \2 \3/p' "$console"
} >"$GOLDEN.tmp"
n=$(grep -vc '^#' "$GOLDEN.tmp" || true)
[ "$n" -gt 0 ] || die "no fuzz seeds on the console ($console)"
mv "$GOLDEN.tmp" "$GOLDEN"
echo "$n seeds written to $GOLDEN"
