#!/usr/bin/env bash
# Prepare, configure and build the kernel with the project laid over it.
. "$(dirname "$0")/lib.sh"

stage "unpack+overlay" "$REPO/scripts/tree.sh"
stage "configure ($CORE core)" "$REPO/scripts/configure.sh"
stage "build kernel" "${KMAKE[@]}" bzImage modules
"$REPO/scripts/core-files.sh" | tee "$KOBJ/core-files.txt" | sed 's/^/    /'
