"""Shared fixtures for the sandbox tests.

Docker and bubblewrap tests run against the real thing. When either is
missing they are skipped, unless HELDOUT_TEST_STRICT=1 (CI), where a missing
daemon, image or bwrap is a test failure.
"""

from __future__ import annotations

import os
import subprocess

import pytest


def strict() -> bool:
    return os.environ.get("HELDOUT_TEST_STRICT") == "1"


def require(condition, reason: str) -> None:
    """Fail (strict mode) or skip when a test prerequisite is missing."""
    if condition:
        return
    if strict():
        pytest.fail(f"HELDOUT_TEST_STRICT=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def _docker_leftovers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.split()


@pytest.fixture(scope="session")
def docker_sandbox():
    """A checked DockerSandbox for this source tree's image.

    Builds the image when the daemon is up, the image is missing and the
    offline base exists (a few seconds); never debootstraps a base unless
    HELDOUT_TEST_BUILD_IMAGE=1 (minutes): CI runs
    `python -m heldout.runner.sandbox.image build` first.
    """
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.docker_backend import DockerSandbox
    from heldout.runner.sandbox import image as img

    sb = DockerSandbox()
    try:
        sb.api.ping()
    except Exception as exc:  # noqa: BLE001
        require(False, f"no Docker daemon ({exc})")
    if not img.image_exists(sb.image, sb.client):
        base_ok = img.image_exists(img.base_image_tag(), sb.client) or img.image_exists(img.ONLINE_BASE, sb.client)
        if base_ok or os.environ.get("HELDOUT_TEST_BUILD_IMAGE") == "1":
            img.build_image(log=lambda _line: None, client=sb.client)
    try:
        sb.check()
    except SandboxUnavailable as exc:
        require(False, str(exc))
    return sb


GVISOR = "runsc"


@pytest.fixture(scope="session")
def gvisor_sandbox(docker_sandbox):
    """The same image under gVisor (HELDOUT_SANDBOX_RUNTIME=runsc): .ci/run installs Debian's runsc and registers
    it with the daemon (``--network=none``); a daemon without it fails the test in strict mode."""
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.docker_backend import DockerSandbox

    sb = DockerSandbox(image=docker_sandbox.image, client=docker_sandbox.client, runtime=GVISOR)
    try:
        sb.check()
    except SandboxUnavailable as exc:
        require(False, f"no gVisor: {exc}")
    return sb


@pytest.fixture(params=["runc", GVISOR])
def participant_sandbox(request, docker_sandbox):
    """The sandbox as a worker has it, once per runtime of participant code: runc for everything, then
    participant code under gVisor beside a scorer under runc (HELDOUT_SANDBOX_RUNTIME=runsc)."""
    if request.param == "runc":
        return docker_sandbox
    from heldout.runner.sandbox.runtimes import RuntimeSplit

    return RuntimeSplit(participant=request.getfixturevalue("gvisor_sandbox"), scorer=docker_sandbox)


@pytest.fixture
def no_docker_leftovers():
    """After the test, no container labelled heldout.sandbox may exist."""
    yield
    left = _docker_leftovers()
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, timeout=60)
    assert not left, f"sandbox containers left behind: {left}"
