#!/bin/sh
# The app image's entrypoint: `heldout "$@"`, exec'd so it receives the container's signals.
#
# Workers set TMPDIR to a directory on the shared data volume, whose path is the same inside the container
# and on the host, because the sandbox's bind mounts are made by the HOST's Docker engine. Create it here:
# when TMPDIR does not exist Python's tempfile quietly falls back to /tmp, a path the host cannot see.
set -eu
if [ -n "${TMPDIR:-}" ]; then
    mkdir -p "$TMPDIR"
fi
exec heldout "$@"
