#!/usr/bin/env sh
# Creates a virtualenv and installs the worker into it. The Makefile (for developers and CI) and the
# Dockerfile (for the image) both call this script, so CI exercises the image's install steps.
#   scripts/bootstrap.sh VENV_DIR [EXTRAS]     e.g. scripts/bootstrap.sh .venv dev
set -eu
venv="${1:?usage: bootstrap.sh VENV_DIR [EXTRAS]}"
extras="${2:-}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
if [ -n "$extras" ]; then
    # Developers get an editable install so code changes need no reinstall.
    "$venv/bin/pip" install --quiet --disable-pip-version-check -e ".[$extras]"
else
    "$venv/bin/pip" install --quiet --disable-pip-version-check .
fi
