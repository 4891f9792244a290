"""The sandbox interface shared by every backend.

A *sandbox run* executes one command of untrusted code (a learner's
``predict.py``) or of trusted code over untrusted data (the scorer reading a
learner's CSV) under hard limits, and reports how it ended. Nothing here
imports Docker, Flask or the platform: the runner must stay importable on a
worker that has neither a web stack nor a Docker daemon.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "Limits", "Mount", "RunRequest", "RunResult", "Sandbox", "SandboxUnavailable",
    "SandboxError", "read_json_result", "LIMIT_MESSAGES", "PARTICIPANT", "SCORER",
]


# RunRequest.role: whose code a run executes.
PARTICIPANT = "participant"
SCORER = "scorer"


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox at ``target`` (read-only unless told).

    ``fifos``: a folder of named pipes, which the sandbox writes to. Linux lets a process write to a FIFO on a
    read-only mount; gVisor does not, so its backend mounts such a folder read-write, and the folder's own
    permissions (writable by nobody in a sandbox) keep it unchanged."""

    source: Path
    target: str
    read_only: bool = True
    fifos: bool = False


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    ``tmpfs_bytes`` sizes the writable ``/tmp``; ``output_bytes`` sizes the
    writable ``/output`` (both live in memory and count towards
    ``memory_bytes`` in the Docker backend). ``output_cap_bytes`` is how much of
    stdout and of stderr is *kept* (half from the start, half from the end);
    a run that prints more than ``output_kill_bytes`` in total is killed
    (``limit_hit="output"``) so that a print loop cannot burn the worker's CPU
    until the timeout.
    """

    timeout_s: float = 60
    memory_bytes: int = 1 << 30
    cpus: float = 1.0
    pids: int = 64
    tmpfs_bytes: int = 64 << 20
    file_size_bytes: int = 256 << 20
    open_files: int = 256
    output_cap_bytes: int = 64 << 10
    output_bytes: int = 64 << 20
    output_kill_bytes: int = 256 << 20


@dataclass
class RunRequest:
    """One command to run. ``output_dir`` (created and removed by the caller)
    receives what the command wrote to ``/output``, capped by ``Limits.output_bytes``.

    ``role`` says whose code runs: ``"participant"`` (a learner's code, an RL
    policy, a bundle's baseline) or ``"scorer"`` (Heldout's own scorer or
    evaluator, over untrusted data). A sandbox may run the two under different
    Docker runtimes (see ``runtimes.py``); a request that does not say is the
    participant's, the stricter of the two.
    """

    argv: list[str]
    mounts: list[Mount]
    limits: Limits
    output_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/tmp"
    labels: dict[str, str] = field(default_factory=dict)
    role: str = PARTICIPANT


# limit_hit codes and what they mean for a learner.
LIMIT_MESSAGES = {
    "time": "time limit of {timeout_s:g} s exceeded",
    "memory": "memory limit of {memory_mib} MiB exceeded",
    "pids": "process limit of {pids} processes/threads reached",
    "file_size": "file size limit of {file_size_mib} MiB exceeded",
    "disk": "writable space exhausted ({where} is full)",
    "output": "printed more than {output_kill_mib} MiB to stdout/stderr",
}


def describe_limit(code: str, limits: Limits, where: str = "/tmp or /output") -> str:
    return LIMIT_MESSAGES.get(code, code).format(
        timeout_s=limits.timeout_s, memory_mib=limits.memory_bytes >> 20, pids=limits.pids,
        file_size_mib=limits.file_size_bytes >> 20, output_kill_mib=limits.output_kill_bytes >> 20,
        where=where)


@dataclass
class RunResult:
    """How a run ended.

    ``exit_code`` is ``None`` when the run was killed for exceeding its time;
    a process killed by a signal reports ``128 + signal`` (137 for SIGKILL), as
    Docker and shells do. ``limit_hit`` is a short code (see
    :data:`LIMIT_MESSAGES`) when a limit ended or broke the run, and
    ``message`` the sentence to show a learner. ``peak_memory_bytes`` is the
    sandbox's peak memory (cgroup high-water mark, or the child's max RSS where
    there is no cgroup) when the backend can tell.
    """

    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    oom_killed: bool = False
    peak_memory_bytes: int | None = None
    limit_hit: str | None = None
    message: str | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    output_truncated: bool = False
    backend: str = ""
    overhead_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit_hit is None


class SandboxUnavailable(Exception):
    """The platform cannot run sandboxes (daemon gone, image missing, no bwrap).

    Not the learner's fault: the message says how an operator fixes it.
    """


class SandboxError(RuntimeError):
    """The sandbox machinery failed in a way that is neither a limit nor unavailability."""


@runtime_checkable
class Sandbox(Protocol):
    name: str

    def check(self) -> None: ...

    def run(self, request: RunRequest) -> RunResult: ...


def read_json_result(path: Path, max_bytes: int = 1 << 20) -> dict | None:
    """Read a JSON object written by sandboxed code, defensively.

    Returns ``None`` when the file is missing, is not a regular file (a
    symlink planted by the sandboxed code is not followed), is larger than
    ``max_bytes``, is not UTF-8 JSON or is not an object. Only ``json.loads``
    is used: never a YAML or pickle loader.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(max_bytes + 1)
        if len(raw) > max_bytes:
            return None
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)
    return data if isinstance(data, dict) else None
