#!/usr/bin/env bash
# `make run`: build what `make test` builds, then boot into the demonstration.
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/kernel.sh"
stage "test programs" "$REPO/scripts/progs.sh"
stage "initramfs" "$REPO/scripts/initramfs.sh"
echo "==> boot into the demonstration"
"$REPO/scripts/boot.sh" run
rc=$(grep -a -oP '^@@@ DEMO rc=\K\d+' "$LOGDIR/console-$CORE.log" || echo none)
if [ "$rc" != 0 ]; then
	echo "demonstration FAILED (status: $rc); console log: $LOGDIR/console-$CORE.log"
	exit 1
fi
# The demonstration passes only if the kernel stayed quiet, as in `make test`.
python3 "$REPO/scripts/report.py" --splats "$LOGDIR/console-$CORE.log"
