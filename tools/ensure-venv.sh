#!/bin/sh
# Make the project's virtual environment, installing Debian's venv module first if this Python lacks it.
set -eu
PYTHON=$1
VENV=$2
if [ -x "$VENV/bin/python" ]; then exit 0; fi
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ensure-venv: installing python3-venv from Debian"
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    else
        echo "ensure-venv: $PYTHON has no venv module; run: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
