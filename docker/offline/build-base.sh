#!/bin/sh
# The stand-ins' common base (docker/offline/README.md: for offline testing only), without any registry:
# debootstrap a minimal Debian bookworm with base-packages.txt and `docker import` it as TAG.
#
#   docker/offline/build-base.sh TAG
#
# Needs root, debootstrap and a running Docker daemon; mirror $DEBIAN_MIRROR (default http://deb.debian.org/debian).
# build.py runs it when TAG (a hash of this script and the package list) is missing.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TAG=${1:?usage: build-base.sh TAG}
command -v debootstrap >/dev/null || { echo "build-base.sh: debootstrap missing: apt-get install -y debootstrap" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build-base.sh: must run as root (debootstrap)" >&2; exit 2; }

PKGS=$(grep -v '^[[:space:]]*#' "$HERE/base-packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
WORK=$(mktemp -d /var/tmp/heldout-offline-base.XXXXXX)
ROOT=$WORK/rootfs
cleanup() { umount -l "$ROOT/proc" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

# No cluster of Debian's own (/etc/postgresql): the postgres stand-in initialises $PGDATA as the official image.
mkdir -p "$ROOT/etc/postgresql-common/createcluster.d"
echo "create_main_cluster = false" > "$ROOT/etc/postgresql-common/createcluster.d/heldout-offline.conf"
echo "build-base.sh: debootstrap bookworm ($PKGS) from $MIRROR"
debootstrap --variant=minbase --include="$PKGS" --components=main bookworm "$ROOT" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -n 40 "$WORK/debootstrap.log" >&2; exit 1; }
rm -rf "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* \
       "$ROOT"/usr/share/locale/* "$ROOT"/var/log/* "$ROOT"/debootstrap "$ROOT"/tmp/* "$ROOT"/var/tmp/*
: > "$ROOT/etc/resolv.conf"
printf '127.0.0.1 localhost\n' > "$ROOT/etc/hosts"

echo "build-base.sh: importing into docker as $TAG"
tar -C "$ROOT" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
    docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' - "$TAG" >/dev/null
