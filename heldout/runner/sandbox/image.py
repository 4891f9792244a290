"""The sandbox image: content-hash tag, existence check and (cached) build.

    python -m heldout.runner.sandbox.image tag      # print the tag this source tree needs
    python -m heldout.runner.sandbox.image check    # exit 0 if it exists, else 1 + how to fix
    python -m heldout.runner.sandbox.image build [--offline|--online] [--force]

The tag is ``heldout-sandbox:<12 hex>``, a hash over ``docker/sandbox/*`` (but
its ``*.md``) and the scoring code copied into the image (``heldout/__init__.py``
and ``heldout/challenges/**/*.py``): a change to scoring code yields a new tag,
so a worker never scores with stale code. The offline base image
(``heldout-sandbox-base:<12 hex>``) is keyed by its own recipe only, so editing
scoring code rebuilds in seconds, not minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import heldout
from heldout.config import sandbox_build_env

from .base import SandboxUnavailable

REPO_NAME = "heldout-sandbox"
BASE_REPO = "heldout-sandbox-base"
BASE_COMPAT_TAG = f"{BASE_REPO}:bookworm"
ONLINE_BASE = "python:3.11-slim"
BASE_RECIPE = ("build-base.sh", "base-packages.txt", "base-purge.txt")
LABEL = "heldout.sandbox.image"


def package_dir() -> Path:
    return Path(heldout.__file__).resolve().parent


def sandbox_docker_dir() -> Path:
    """``docker/sandbox`` of the source tree (override: HELDOUT_SANDBOX_DOCKER_DIR)."""
    return sandbox_build_env().docker_dir or package_dir().parent / "docker" / "sandbox"


def image_code_files() -> list[tuple[str, Path]]:
    """(path inside the build context, host path) of the code copied into the image."""
    pkg = package_dir()
    files = [("heldout/__init__.py", pkg / "__init__.py")]
    for p in sorted((pkg / "challenges").rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        files.append(("heldout/" + p.relative_to(pkg).as_posix(), p))
    return files


def _recipe_files() -> list[tuple[str, Path]]:
    d = sandbox_docker_dir()
    if not d.is_dir():
        return []
    return [(f"docker/sandbox/{p.name}", p) for p in sorted(d.iterdir())
            if p.is_file() and not p.name.endswith(".md")]


def _hash(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for name, path in files:
        data = path.read_bytes()
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()[:12]


def expected_image_tag() -> str:
    """``heldout-sandbox:<hash>`` for this source tree (override: HELDOUT_SANDBOX_IMAGE)."""
    return sandbox_build_env().image or f"{REPO_NAME}:{_hash(_recipe_files() + image_code_files())}"


def base_image_tag() -> str:
    d = sandbox_docker_dir()
    return f"{BASE_REPO}:{_hash([(n, d / n) for n in BASE_RECIPE])}"


def _client():
    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001 - any failure here means "no daemon"
        raise SandboxUnavailable(
            f"Docker daemon not reachable ({type(exc).__name__}: {exc}); start it "
            "(`systemctl start docker` or `dockerd &`) or set DOCKER_HOST") from None


def image_exists(tag: str, client=None) -> bool:
    import docker.errors

    client = client or _client()
    try:
        client.api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _stream_build(client, log: Callable[[str], None], **kwargs) -> None:
    for chunk in client.api.build(decode=True, **kwargs):
        if "error" in chunk:
            raise RuntimeError(f"docker build failed: {chunk['error'].strip()}")
        text = chunk.get("stream", "").rstrip()
        if text:
            log(text)


def build_base(log: Callable[[str], None] = print, client=None) -> str:
    """Build (or reuse) ``heldout-sandbox-base:<recipe hash>`` with build-base.sh."""
    client = client or _client()
    tag = base_image_tag()
    if image_exists(tag, client):
        if not image_exists(BASE_COMPAT_TAG, client):
            client.api.tag(tag, BASE_REPO, "bookworm")
        return tag
    script = sandbox_docker_dir() / "build-base.sh"
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailable("debootstrap missing: `apt-get install -y debootstrap` "
                                 "(needed for the offline base image)")
    log(f"building base image {tag} with {script} (debootstrap, a few minutes)")
    t0 = time.monotonic()
    proc = subprocess.Popen(["sh", str(script), tag, BASE_COMPAT_TAG], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        log(line.rstrip())
    if proc.wait() != 0:
        raise RuntimeError(f"{script} failed with exit code {proc.returncode}")
    log(f"base image {tag} built in {time.monotonic() - t0:.0f} s")
    return tag


def build_image(offline: bool | None = None, log: Callable[[str], None] = print, *, force: bool = False,
                client=None) -> str:
    """Build the sandbox image for this source tree unless it exists; return its tag.

    ``offline=None`` picks the registry-free recipe unless ``python:3.11-slim``
    is already present locally (or HELDOUT_SANDBOX_ONLINE=1). Also tags
    ``heldout-sandbox:latest``.
    """
    client = client or _client()
    tag = expected_image_tag()
    if not force and image_exists(tag, client):
        client.api.tag(tag, REPO_NAME, "latest")
        return tag
    if offline is None:
        offline = not (sandbox_build_env().online or image_exists(ONLINE_BASE, client))
    d = sandbox_docker_dir()
    dockerfile = d / ("Dockerfile.offline" if offline else "Dockerfile")
    if not dockerfile.is_file():
        raise SandboxUnavailable(f"{dockerfile} missing: run from a source checkout or set HELDOUT_SANDBOX_DOCKER_DIR")
    buildargs = {}
    if offline:
        buildargs["BASE"] = build_base(log, client)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="heldout-image-") as ctx:
        root = Path(ctx)
        shutil.copyfile(dockerfile, root / "Dockerfile")
        for name, src in image_code_files():
            dst = root / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        (root / ".dockerignore").write_text("**/__pycache__\n")
        log(f"building {tag} from {dockerfile.name}")
        _stream_build(client, log, path=str(root), dockerfile="Dockerfile", tag=tag, pull=False, rm=True,
                      forcerm=True, buildargs=buildargs,
                      labels={LABEL: "1", f"{LABEL}.recipe": dockerfile.name, f"{LABEL}.hash": tag.split(":")[1]})
    client.api.tag(tag, REPO_NAME, "latest")
    log(f"built {tag} in {time.monotonic() - t0:.1f} s")
    return tag


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m heldout.runner.sandbox.image", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the sandbox image unless present")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--offline", dest="offline", action="store_true", default=None)
    g.add_argument("--online", dest="offline", action="store_false")
    b.add_argument("--force", action="store_true")
    sub.add_parser("tag", help="print the expected image tag")
    sub.add_parser("base-tag", help="print the offline base image tag")
    sub.add_parser("check", help="exit 1 unless the expected image exists")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "tag":
            print(expected_image_tag())
        elif args.cmd == "base-tag":
            print(base_image_tag())
        elif args.cmd == "check":
            tag = expected_image_tag()
            if not image_exists(tag):
                print(f"sandbox image {tag} missing: run `python -m heldout.runner.sandbox.image build`",
                      file=sys.stderr)
                return 1
            print(tag)
        else:
            t0 = time.monotonic()
            tag = build_image(args.offline, force=args.force)
            print(f"{tag} ready ({time.monotonic() - t0:.1f} s)")
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
