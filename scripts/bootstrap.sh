#!/usr/bin/env sh
# Creates a virtualenv and installs the worker into it. The Makefile (for developers and CI) and the
# Dockerfile (for the image) both call this script, so CI exercises the image's install steps.
#   scripts/bootstrap.sh VENV_DIR [EXTRAS]     e.g. scripts/bootstrap.sh .venv dev
# Every package, pip itself and the build backend included, is pinned by requirements.lock
# (regenerate it with `make lock`); a dependency missing from the lock is installed unpinned, which
# `make lock` prevents by locking every extra.
set -eu
venv="${1:?usage: bootstrap.sh VENV_DIR [EXTRAS]}"
extras="${2:-}"
python="${PYTHON:-python3}"
lock="$(cd "$(dirname "$0")/.." && pwd)/requirements.lock"

"$python" -m venv "$venv"
pip_install() {
    "$venv/bin/pip" install --quiet --disable-pip-version-check --constraint "$lock" "$@"
}
pip_install --upgrade pip setuptools
if [ -n "$extras" ]; then
    # Developers get an editable install so code changes need no reinstall.
    pip_install --build-constraint "$lock" -e ".[$extras]"
else
    pip_install --build-constraint "$lock" .
fi
