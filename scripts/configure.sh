#!/usr/bin/env bash
# Configure the kernel: tinyconfig, then the project's fragments (and any extra
# fragment the user names in KCONFIG_EXTRA), then olddefconfig; then check that
# every option a fragment asks for really is set as asked.
. "$(dirname "$0")/lib.sh"

fragments=("$REPO/config/base.config" "$REPO/config/core-$CORE.config")
for f in ${KCONFIG_EXTRA:-}; do
	[ -f "$f" ] || die "KCONFIG_EXTRA: no such file: $f"
	fragments+=("$(realpath "$f")")
done

# Skip all of it when neither the fragments nor the Kconfig files changed.
want=$(cat "${fragments[@]}" "$REPO/Kconfig" | sha256sum | cut -d' ' -f1)
stamp="$KOBJ/.dmabuf-rs-config"
if [ -f "$KOBJ/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	echo "configuration unchanged"
	exit 0
fi

mkdir -p "$KOBJ"
"${KMAKE[@]}" rustavailable
"${KMAKE[@]}" tinyconfig
(cd "$KOBJ" && KCONFIG_CONFIG=.config "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KOBJ" .config "${fragments[@]}")
"${KMAKE[@]}" olddefconfig

# Kconfig silently drops what it cannot satisfy: name every such option.
dropped=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$KOBJ/.config" && dropped+=("$line (is $(grep "^$opt=" "$KOBJ/.config"))") ;;
	CONFIG_*=*) grep -qxF "$line" "$KOBJ/.config" ||
		dropped+=("$line (is $(grep "^${line%%=*}=" "$KOBJ/.config" || echo "not set"))") ;;
	esac
done < <(cat "${fragments[@]}" | sed 's/[[:space:]]*#.*//' | grep '^CONFIG_' |
	# An option a later fragment sets again is checked for its last value.
	awk -F= '!($1 in v) { k[++n] = $1 } { v[$1] = $0 } END { for (i = 1; i <= n; i++) print v[k[i]] }')
if [ ${#dropped[@]} -gt 0 ]; then
	printf 'Kconfig did not keep these options (unmet dependencies?):\n' >&2
	printf '  %s\n' "${dropped[@]}" >&2
	exit 1
fi
echo "$want" >"$stamp"
echo "configuration checked: $(grep -c '^CONFIG_' "$KOBJ/.config") options set"
