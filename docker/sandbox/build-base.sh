#!/bin/sh
# Build the offline sandbox base image without any container registry:
# debootstrap a minimal Debian bookworm with Python 3.11 + numpy/pandas/sklearn
# from Debian's archive, strip it and `docker import` it.
#
#   docker/sandbox/build-base.sh [TAG ...]      (default: heldout-sandbox-base:bookworm)
#
# Needs root, debootstrap and a running Docker daemon. Mirror: $DEBIAN_MIRROR
# (default http://deb.debian.org/debian). Takes a few minutes; the Python side
# (heldout.runner.sandbox.image) caches the result by a hash of this script and
# base-packages.txt, so it only runs when the recipe changes.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
[ $# -gt 0 ] || set -- heldout-sandbox-base:bookworm

command -v debootstrap >/dev/null || { echo "build-base.sh: debootstrap missing: apt-get install -y debootstrap" >&2; exit 2; }
command -v docker >/dev/null || { echo "build-base.sh: docker CLI missing" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build-base.sh: must run as root (debootstrap)" >&2; exit 2; }

PKGS=$(grep -v '^[[:space:]]*#' "$HERE/base-packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
WORK=$(mktemp -d /var/tmp/heldout-base.XXXXXX)
ROOT=$WORK/rootfs
cleanup() { umount -l "$ROOT/proc" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

echo "build-base.sh: debootstrap $SUITE ($PKGS) from $MIRROR"
debootstrap --variant=minbase --include="$PKGS" --components=main \
    "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 40 "$WORK/debootstrap.log" >&2
    [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -n 40 "$ROOT/debootstrap/debootstrap.log" >&2
    exit 1
}

echo "build-base.sh: purging build-only packages"
PURGE=$(grep -v '^[[:space:]]*#' "$HERE/base-purge.txt" | tr -s ' \n' ' ')
# shellcheck disable=SC2086
chroot "$ROOT" dpkg --purge --force-depends $PURGE >"$WORK/purge.log" 2>&1 || { tail -n 40 "$WORK/purge.log" >&2; exit 1; }

echo "build-base.sh: stripping"
# Nothing in the sandbox installs packages: drop apt's state and caches, docs,
# man pages, translations and the test suites shipped inside the libraries.
rm -rf "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/debconf/*-old \
       "$ROOT"/var/log/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
       "$ROOT"/usr/share/locale/* "$ROOT"/usr/share/lintian "$ROOT"/usr/share/bash-completion \
       "$ROOT"/debootstrap "$ROOT"/tmp/* "$ROOT"/var/tmp/*
find "$ROOT/usr/lib/python3/dist-packages" -type d -name tests -prune -exec rm -rf {} + 2>/dev/null || true
# Byte-compile everything once (Debian's postinst already did most of it) so
# no start-up of a sandbox compiles anything (the root is read-only anyway).
chroot "$ROOT" python3 -m compileall -q -j 0 /usr/lib/python3/dist-packages /usr/lib/python3.11 >/dev/null 2>&1 || true
# Fail here, not in a sandbox run, if the purge removed something needed.
chroot "$ROOT" env -i PATH=/usr/bin:/bin python3 -c 'import numpy, pandas, scipy.optimize, scipy.sparse, sklearn.linear_model, sklearn.ensemble, sklearn.metrics, sklearn.tree
numpy.linalg.inv(numpy.eye(3)); sklearn.linear_model.LogisticRegression().fit([[0], [1]], [0, 1]); print("base ok: numpy", numpy.__version__, "pandas", pandas.__version__, "sklearn", sklearn.__version__)' || { echo "build-base.sh: import self-test failed" >&2; exit 1; }
# Minimal name service files: no resolver configured inside the sandbox.
: > "$ROOT/etc/resolv.conf"
printf '127.0.0.1 localhost\n' > "$ROOT/etc/hosts"

echo "build-base.sh: importing into docker as $*"
FIRST=$1
tar -C "$ROOT" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$FIRST" >/dev/null
shift
for t in "$@"; do docker tag "$FIRST" "$t"; done
docker image inspect --format '{{.Id}} {{.Size}}' "$FIRST"
