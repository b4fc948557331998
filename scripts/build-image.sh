#!/usr/bin/env bash
# `make image`: builds the Dockerfile as $IMAGE (default bookyflow-worker:<version in pyproject.toml>).
#
# With podman (preferred when installed, or CONTAINER_ENGINE=podman): the base is made locally by
# scripts/make-base.sh (no container registry needed), the build runs in docker format (so the
# HEALTHCHECK is kept) on the host's network, with scripts/podman/containers.conf (runc, ulimits),
# and the host's CA bundle and pip configuration files (the ones `pip config list -v` names that
# exist, and the local files and indexes they point at) are mounted read-only into the build: they
# are never copied into the image. With docker (CONTAINER_ENGINE=docker, or no podman): a plain
# `docker build`, BASE_IMAGE defaulting to the Dockerfile's python:3.11-slim.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
image="${IMAGE:-bookyflow-worker:$version}"
engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
    if command -v podman >/dev/null; then engine=podman; else engine=docker; fi
fi

# One "-v SRC:DST:ro" per line for the host's pip configuration, CA bundle and the paths they name.
pip_mounts() {
    local python="${PYTHON:-python3}" file path
    local -a files=()
    while IFS= read -r file; do
        [ -f "$file" ] && files+=("$file")
    done < <("$python" -m pip config list -v 2>/dev/null | sed -n "s/.*will try loading '\(.*\)'$/\1/p")
    for path in /etc/ssl/certs/ca-certificates.crt "${files[@]}"; do
        [ -e "$path" ] && mount_line "$path"
    done
    # Files and local indexes the configuration files name (cert, constraint, find-links, file:// URLs).
    [ "${#files[@]}" -gt 0 ] || return 0
    # A file:// index in the simple layout links to files beside it (../../files): its parent goes.
    sed -n 's/^[^#;[]*=[[:space:]]*//p' "${files[@]}" | tr ' ' '\n' |
        sed -e 's|^file://||' -e 's|/simple/*$||' |
        while IFS= read -r path; do
            case "$path" in /*) [ -e "$path" ] && mount_line "$path" ;; esac
        done
}

# A file under $HOME (pip's user configuration) goes to the same place under /root, the build's HOME.
mount_line() {
    local target="$1"
    case "$1" in "$HOME"/*) target="/root/${1#"$HOME"/}" ;; esac
    echo "-v=$1:$target:ro"
}

start=$(date +%s)
if [ "$engine" = podman ]; then
    export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/podman/containers.conf}"
    base="${BASE_IMAGE:-$(scripts/make-base.sh)}"
    mapfile -t mounts < <(pip_mounts | sort -u)
    echo "image: podman build $image from $base; read-only mounts: ${mounts[*]#-v=}" >&2
    # pip warns once per package a local file:// index of the host's configuration does not hold.
    podman build --quiet --format docker --network host --pull=never \
        --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" \
        "${mounts[@]}" --tag "$image" . \
        2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2) >/dev/null
    size="$(podman image inspect --format '{{.Size}}' "$image")"
else
    echo "image: docker build $image from ${BASE_IMAGE:-python:3.11-slim}" >&2
    docker build --network host ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"} \
        --build-arg "VERSION=$version" --tag "$image" .
    size="$(docker image inspect --format '{{.Size}}' "$image")"
fi
echo "image: built $image with $engine in $(($(date +%s) - start)) s, $((size / 1000000)) MB"
