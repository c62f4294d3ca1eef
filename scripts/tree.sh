#!/usr/bin/env bash
# Prepare the kernel source: unpack Debian's linux-source-6.12 into the cache
# (once), apply the project's small patches to upstream files (again only when
# they change), and lay the project's own files over the tree as symlinks, so
# that an edit in the checkout is seen by the next build without unpacking.
. "$(dirname "$0")/lib.sh"

[ -f "$KTARBALL" ] || die "$KTARBALL not found (package linux-source-6.12)"

# The tree is valid for one tarball and one patch set.
want=$( (stat -c '%s %Y' "$KTARBALL"; cat "$REPO"/patches/*.patch) | sha256sum | cut -d' ' -f1)
stamp="$KSRC/.dmabuf-rs-tree"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "unpacking $KTARBALL into $KSRC"
	rm -rf "$KSRC" "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	tar -xf "$KTARBALL" -C "$KSRC.tmp" --strip-components=1
	for p in "$REPO"/patches/*.patch; do
		echo "applying $(basename "$p")"
		patch -d "$KSRC.tmp" -p1 --no-backup-if-mismatch -s <"$p" || die "patch $p does not apply"
	done
	mv "$KSRC.tmp" "$KSRC"
	echo "$want" >"$stamp"
	# Object trees built from an older source are stale.
	rm -rf "$CACHE"/build-*
fi

# Remove the links of the previous overlay (the checkout may have moved or lost files).
manifest="$KSRC/.dmabuf-rs-overlay"
if [ -f "$manifest" ]; then
	while read -r l; do
		[ -L "$KSRC/$l" ] && rm -f "$KSRC/$l"
	done <"$manifest"
fi
: >"$manifest"

# make compares the mtimes of link targets: when the overlay switches to another
# checkout whose files are older than the objects built from the previous one,
# nothing would rebuild. Touch the new checkout's files once so that it does.
last_repo="$KSRC/.dmabuf-rs-overlay-repo"
if [ -f "$last_repo" ] && [ "$(cat "$last_repo")" != "$REPO" ]; then
	echo "overlay moves from $(cat "$last_repo") to $REPO: marking its files changed"
	find "$REPO"/drivers "$REPO"/rust "$REPO"/include "$REPO"/samples "$REPO"/tools \
		"$REPO"/Kconfig "$REPO"/Kbuild -type f -exec touch {} +
fi
echo "$REPO" >"$last_repo"

# The project root is reachable from the tree as dmabuf-rs/ (for Kconfig and Kbuild).
ln -sfn "$REPO" "$KSRC/dmabuf-rs"

cd "$REPO"
while read -r f; do
	dst="$KSRC/$f"
	if [ -e "$dst" ] && [ ! -L "$dst" ]; then
		die "$f would hide an upstream file: change upstream files through patches/"
	fi
	mkdir -p "$(dirname "$dst")"
	ln -sfn "$REPO/$f" "$dst"
	echo "$f" >>"$manifest"
done < <(git ls-files --cached --others --exclude-standard -- drivers rust include samples tools 2>/dev/null ||
	find drivers rust include samples tools -type f)
echo "overlay: $(wc -l <"$manifest") files linked into $KSRC"
