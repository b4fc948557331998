#!/usr/bin/env bash
# Builds the image's base locally, without any container registry: a minimal Debian bookworm with
# python3, python3-venv and ca-certificates (mmdebstrap), imported into podman's store.
#   scripts/make-base.sh            prints the base image's name (built only when missing)
# The tarball is cached in $BOOKYFLOW_CACHE_DIR (default ~/.cache/bookyflow) and the image is tagged
# with a digest of this recipe, so a second `make image` reuses both; `BASE_REBUILD=1` forces a rebuild.
# The Debian mirror is the one apt uses on this machine (/etc/apt/sources.list*), unless
# DEBIAN_MIRROR names another.
set -euo pipefail
suite="${DEBIAN_SUITE:-bookworm}"
packages="python3,python3-venv,ca-certificates"
cache="${BOOKYFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bookyflow}"

# The first main Debian archive apt is configured with (deb822 .sources or one-line .list).
apt_mirror() {
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    local file
    for file in "${files[@]}"; do
        [ -f "$file" ] || continue
        awk '
            /^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i }
            /^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }
        ' "$file"
    done | grep -E '/debian/?$' | head -n 1
}

mirror="${DEBIAN_MIRROR:-$(apt_mirror || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"
recipe="$(printf '%s\n' "$suite" "$packages" "$mirror" | sha256sum | cut -c1-12)"
image="localhost/bookyflow-base:${suite}-${recipe}"

if [ "${BASE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
    echo "$image"
    exit 0
fi

mkdir -p "$cache"
tarball="$cache/base-${suite}-${recipe}.tar"
if [ "${BASE_REBUILD:-0}" = 1 ] || [ ! -s "$tarball" ]; then
    partial="$cache/partial-${suite}-${recipe}.tar" # mmdebstrap picks the format by the suffix
    rm -rf "$partial"
    echo "make-base: mmdebstrap $suite from $mirror ($packages)" >&2
    start=$(date +%s)
    # The same apt options as this machine's apt (a snapshot mirror's Release files may be dated).
    mmdebstrap --quiet --variant=minbase --include="$packages" \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
        "$suite" "$partial" "$mirror" >&2
    mv "$partial" "$tarball"
    echo "make-base: tarball $(du -h "$tarball" | cut -f1) in $(($(date +%s) - start)) s" >&2
fi
podman import --quiet \
    --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$image" >&2
echo "$image"
