#!/usr/bin/env python3
"""Build the offline stand-ins (docker/offline/README.md: for offline testing only) that are missing.

    python3 docker/offline/build.py      # prints HELDOUT_APP_BASE=…, HELDOUT_POSTGRES_IMAGE=…, …

Their common base, ``heldout-offline-base:<hash>``, is a debootstrapped Debian bookworm with Debian's
packages (build-base.sh, as the sandbox image's base is built: minutes, once); each stand-in,
``heldout-offline-<name>:<hash>``, adds its configuration in seconds. Every tag is a hash of its recipe, so a
second run builds nothing. Only the standard library and the docker CLI: CI runs it before the suite.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Which compose variable selects each stand-in.
STAND_INS = {"python": "HELDOUT_APP_BASE", "postgres": "HELDOUT_POSTGRES_IMAGE", "redis": "HELDOUT_REDIS_IMAGE"}


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def base_tag() -> str:
    digest = hashlib.sha256()
    for name in ("build-base.sh", "base-packages.txt"):
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    return f"heldout-offline-base:{digest.hexdigest()[:12]}"


# The python stand-in trusts what this host trusts (see python/Dockerfile).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def context_files(name: str) -> dict[str, bytes]:
    """The build context of one stand-in: its folder, and for python the host's CA bundle (empty when none)."""
    files = {p.relative_to(HERE / name).as_posix(): p.read_bytes()
             for p in sorted((HERE / name).rglob("*")) if p.is_file()}
    if name == "python":
        files["host-ca-certificates.crt"] = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""
    return files


def tag_for(name: str, base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for relative, data in context_files(name).items():
        digest.update(relative.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return f"heldout-offline-{name}:{digest.hexdigest()[:12]}"


def build(log=print) -> dict[str, str]:  # noqa: ANN001
    """{variable: tag} of every stand-in, building those missing."""
    base = base_tag()
    found = docker("image", "inspect", "--format", "{{.Id}}", base, check=False)
    if found.returncode != 0:
        log(f"build.py: debootstrapping {base} (minutes, once)", file=sys.stderr)
        done = subprocess.run(["sh", str(HERE / "build-base.sh"), base], stdout=sys.stderr)
        if done.returncode != 0:
            raise SystemExit(f"build.py: building {base} failed (above)")
        found = docker("image", "inspect", "--format", "{{.Id}}", base)
    base_id = found.stdout.strip()
    tags = {}
    for name, variable in STAND_INS.items():
        tag = tag_for(name, base_id)
        if docker("image", "inspect", tag, check=False).returncode != 0:
            log(f"build.py: building {tag}", file=sys.stderr)
            with tempfile.TemporaryDirectory(prefix="heldout-offline-") as context:
                for relative, data in context_files(name).items():
                    (Path(context) / relative).parent.mkdir(parents=True, exist_ok=True)
                    (Path(context) / relative).write_bytes(data)
                done = subprocess.run(["docker", "build", "-q", "--pull=false", "--build-arg", f"BASE={base}",
                                       "-t", tag, context], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"build.py: building {tag} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        tags[variable] = tag
    return tags


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    for variable, tag in build().items():
        print(f"{variable}={tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
