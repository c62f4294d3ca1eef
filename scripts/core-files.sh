#!/usr/bin/env bash
# Say which dma-buf core files the kernel just built really linked: the C core
# files found in drivers/dma-buf/built-in.a, and the Rust core with the C ABI
# functions its export table names. Read from the build, not from a list.
. "$(dirname "$0")/lib.sh"

members=$(llvm-ar-19 t "$KOBJ/drivers/dma-buf/built-in.a" | xargs -n1 basename)
c_files=()
for f in dma-buf dma-fence dma-fence-array dma-fence-chain dma-fence-unwrap dma-resv sync_file; do
	grep -qx "$f.o" <<<"$members" && c_files+=("$f.c")
done
if grep -qx dmabuf_rs.o <<<"$members"; then
	exports=$(grep -oP '^EXPORT_SYMBOL\w*\(\K\w+' "$REPO/drivers/dma-buf/dmabuf_rs_exports.c")
	rust="Rust: dmabuf_rs.rs implements $(wc -w <<<"$exports") exported symbol(s): $(echo $exports)"
else
	rust="Rust: none"
fi
echo "core ($CORE): $rust; C: ${c_files[*]:-none}"
