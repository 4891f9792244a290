"""A real S3 API server for the tests and benches: moto's standalone server (``moto[server]``), a process of
its own listening on a TCP port, spoken to over HTTP by boto3 exactly as a real S3 or MinIO would be.

No pytest here: ``bench/`` and ``tests/e2e/netns_hosts.py`` use it too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ACCESS_KEY = "heldout-test-key"
SECRET_KEY = "heldout-test-secret"


def moto_argv(address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", address, "-p", str(port)]


def moto_env(*, authenticated_after: int | None = None) -> dict[str, str]:
    """The server's environment. ``authenticated_after``: requests answered before credentials are checked
    (moto's INITIAL_NO_AUTH_ACTION_COUNT); by default credentials are never checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "HELDOUT_"))}
    if authenticated_after is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(authenticated_after)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(address: str, port: int, timeout_s: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"the S3 server did not listen on {address}:{port} within {timeout_s:.0f}s\n{tail}")


class MotoServer:
    """``moto_server`` on a free loopback port; stop() ends it."""

    def __init__(self, log: Path, *, authenticated_after: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(moto_argv("127.0.0.1", self.port), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=moto_env(authenticated_after=authenticated_after))
        try:
            wait_listening("127.0.0.1", self.port, 60, log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def s3_settings(endpoint_url: str, bucket: str, *, prefix: str = "", access_key: str = ACCESS_KEY,
                secret_key: str = SECRET_KEY):  # noqa: ANN201
    from heldout.config import S3Settings

    return S3Settings(bucket=bucket, endpoint_url=endpoint_url, prefix=prefix, region="us-east-1",
                      access_key_id=access_key, secret_access_key=secret_key)


def new_bucket(endpoint_url: str, *, prefix: str = ""):  # noqa: ANN201
    """A fresh, empty bucket on the server; returns its settings."""
    from heldout.storage.s3 import make_client

    settings = s3_settings(endpoint_url, f"heldout-test-{uuid.uuid4().hex[:16]}", prefix=prefix)
    make_client(settings).create_bucket(Bucket=settings.bucket)
    return settings


def s3_env(settings) -> dict[str, str]:  # noqa: ANN001
    """The HELDOUT_S3_* and AWS_* variables that name this bucket, for a heldout process."""
    env = {"HELDOUT_STORAGE": "s3", "HELDOUT_S3_BUCKET": settings.bucket, "HELDOUT_S3_ENDPOINT_URL": settings.endpoint_url,
           "AWS_ACCESS_KEY_ID": settings.access_key_id, "AWS_SECRET_ACCESS_KEY": settings.secret_access_key,
           "AWS_DEFAULT_REGION": settings.region or "us-east-1"}
    if settings.prefix:
        env["HELDOUT_S3_PREFIX"] = settings.prefix
    return env
