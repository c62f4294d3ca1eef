# Shared settings and helpers for the pipeline scripts; sourced, not run.
# Every path can be overridden from the environment (or `make VAR=...`).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMABUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmabuf-rs}
CORE=${CORE:-rust}
LOGDIR=${LOGDIR:-$REPO/build/logs}
KTARBALL=${KTARBALL:-/usr/src/linux-source-6.12.tar.xz}
# The unpacked, patched kernel source shared by every build; the project is laid over it.
KSRC=${KSRC:-$CACHE/linux-6.12}
# One object tree per core, so switching CORE does not rebuild from scratch.
KOBJ=${KOBJ:-$CACHE/build-$CORE}
HDR=${HDR:-$CACHE/headers}
BINDGEN_VERSION=0.73.2
export PATH="$HOME/.cargo/bin:$PATH"
KMAKE=(make -C "$KSRC" O="$KOBJ" LLVM=-19 -j"$(nproc)")

mkdir -p "$LOGDIR" "$CACHE"

case "$CORE" in
rust | c) ;;
*) echo "CORE must be 'rust' or 'c', not '$CORE'" >&2; exit 2 ;;
esac

# stage NAME CMD...: print one line as a stage starts and its time when done;
# the command's output goes to $LOGDIR/NAME.log and its tail is shown on failure.
stage() {
	local name=$1 t0 rc=0
	shift
	t0=$(date +%s)
	printf '==> %-28s ' "$name"
	"$@" >"$LOGDIR/$name.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf 'FAILED after %ss (log: %s)\n' "$(($(date +%s) - t0))" "$LOGDIR/$name.log"
		tail -n 40 "$LOGDIR/$name.log" | sed 's/^/    /'
		exit "$rc"
	fi
	printf '%4ss\n' "$(($(date +%s) - t0))"
}

die() {
	echo "error: $*" >&2
	exit 1
}
