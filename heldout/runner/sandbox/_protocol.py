"""Host side of the supervisor protocol, shared by the Docker and bubblewrap backends."""

from __future__ import annotations

import base64
import json
import math
import os
import posixpath
import re
import signal
from functools import lru_cache
from pathlib import Path, PurePosixPath

from .base import Limits, RunRequest, RunResult, SandboxError, describe_limit

SUPERVISOR_PATH = Path(__file__).with_name("_supervisor.py")
OUTPUT_TARGET = "/output"
RESERVED_TARGETS = ("/", "/tmp", "/output", "/proc", "/dev", "/sys", "/etc", "/usr", "/opt/heldout")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")

# What a sandboxed process sees besides the request's own env: never the worker's.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONPATH": "/opt/heldout",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "MPLCONFIGDIR": "/tmp",
}


IN_SANDBOX_PATH = Path(__file__).with_name("_in_sandbox.py")


@lru_cache(maxsize=1)
def in_sandbox_source() -> str:
    """The helpers the supervisor and the warm scorer's server share, put in front of each one's own source."""
    return IN_SANDBOX_PATH.read_text()


@lru_cache(maxsize=1)
def supervisor_source() -> str:
    return in_sandbox_source() + "\n\n" + SUPERVISOR_PATH.read_text()


def validate_request(request: RunRequest) -> None:
    """Reject requests that would weaken the sandbox; raise ValueError (a caller bug)."""
    if not request.argv or not all(isinstance(a, str) and "\0" not in a for a in request.argv):
        raise ValueError("argv must be a non-empty list of strings without NUL")
    if not isinstance(request.limits, Limits):
        raise ValueError("limits must be a Limits")
    lim = request.limits
    if not (lim.timeout_s > 0 and lim.memory_bytes >= 16 << 20 and lim.cpus > 0 and lim.pids >= 4
            and lim.tmpfs_bytes >= 1 << 20 and lim.output_bytes >= 1 << 20 and lim.open_files >= 16
            and lim.file_size_bytes >= 1 << 16 and lim.output_cap_bytes >= 1024):
        raise ValueError(f"limits out of range: {lim}")
    seen = set()
    for m in request.mounts:
        target = str(m.target)
        if not target.startswith("/") or posixpath.normpath(target) != target or ":" in target:
            raise ValueError(f"mount target must be a normalised absolute path: {target!r}")
        if target in RESERVED_TARGETS or any(target.startswith(r + "/")
                                             for r in ("/proc", "/dev", "/sys", "/output", "/tmp")):
            raise ValueError(f"mount target {target!r} is reserved by the sandbox")
        if target in seen:
            raise ValueError(f"mount target {target!r} used twice")
        seen.add(target)
        src = Path(m.source)
        if not src.is_absolute() or not src.exists():
            raise ValueError(f"mount source must be an existing absolute path: {src}")
    for k, v in request.env.items():
        if not _ENV_NAME.match(k) or not isinstance(v, str) or "\0" in v:
            raise ValueError(f"bad environment variable {k!r}")
    for k, v in request.labels.items():
        if not _LABEL_KEY.match(k) or not isinstance(v, str) or len(v) > 256:
            raise ValueError(f"bad label {k!r}")
    if not str(request.workdir).startswith("/"):
        raise ValueError("workdir must be absolute")


def child_env(request: RunRequest, extra: dict[str, str] | None = None) -> dict[str, str]:
    threads = str(max(1, math.ceil(request.limits.cpus)))
    env = dict(BASE_ENV)
    # BLAS/OpenMP pools default to the *host's* core count: on a 64-core worker
    # that alone would exhaust a 64-pids limit at `import numpy`.
    env.update({"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                "NUMEXPR_NUM_THREADS": threads})
    env.update(extra or {})
    env.update(request.env)
    return env


def request_line(request: RunRequest, *, env: dict[str, str], writable: list[str], cgroup: bool,
                 rlimits: dict[str, int], oom_score_adj: int | None = 1000) -> bytes:
    lim = request.limits
    payload = {
        "argv": list(request.argv),
        "env": env,
        "cwd": request.workdir,
        "timeout": float(lim.timeout_s),
        "cap": int(lim.output_cap_bytes),
        "kill_total": int(lim.output_kill_bytes),
        "rlimits": rlimits,
        "oom_score_adj": oom_score_adj,
        "cgroup": cgroup,
        "writable": writable,
        "output_dir": OUTPUT_TARGET if request.output_dir is not None else None,
        "output_max": int(lim.output_bytes),
        "output_max_files": 10000,
    }
    return (json.dumps(payload) + "\n").encode()


class ProtocolError(SandboxError):
    pass


class StreamParser:
    """Incremental parser of the supervisor's stdout: header line, then file frames.

    Every size is capped: the header by ``header_max``; files by the request's
    ``output_bytes`` and a file count; names are checked before anything is
    written below ``output_dir``.
    """

    def __init__(self, limits: Limits, output_dir: Path | None):
        self.header_max = 3 * limits.output_cap_bytes + (256 << 10)
        self.files_max_bytes = limits.output_bytes
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.buf = bytearray()
        self.header: dict | None = None
        self.trailer: dict | None = None
        self.files_bytes = 0
        self.files: list[str] = []
        self._cur: tuple | None = None  # (fileobj, remaining)
        self.output_truncated = False
        self.done = False

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self.buf += data
        while self.buf and not self.done:
            if self.header is None:
                nl = self.buf.find(b"\n")
                if nl < 0:
                    if len(self.buf) > self.header_max:
                        raise ProtocolError("supervisor header too large")
                    return
                self.header = self._json(self.buf[:nl])
                del self.buf[: nl + 1]
                if not self.header.get("output"):
                    self.done = True
            elif self._cur is not None:
                f, remaining = self._cur
                chunk = bytes(self.buf[:remaining])
                del self.buf[: len(chunk)]
                if f is not None:
                    f.write(chunk)
                remaining -= len(chunk)
                self._cur = (f, remaining) if remaining else None
                if not remaining and f is not None:
                    f.close()
            else:
                nl = self.buf.find(b"\n")
                if nl < 0:
                    if len(self.buf) > 8192:
                        raise ProtocolError("supervisor file frame too large")
                    return
                frame = self._json(self.buf[:nl])
                del self.buf[: nl + 1]
                if frame.get("end"):
                    self.trailer = frame
                    self.output_truncated = self.output_truncated or bool(frame.get("truncated"))
                    self.done = True
                else:
                    self._start_file(frame)

    def _start_file(self, frame: dict) -> None:
        size = frame.get("size")
        rel = frame.get("path")
        if not isinstance(size, int) or size < 0 or not isinstance(rel, str):
            raise ProtocolError("bad file frame")
        f = None
        if self.files_bytes + size > self.files_max_bytes or len(self.files) >= 10000:
            self.output_truncated = True
        else:
            target = safe_join(self.output_dir, rel) if self.output_dir is not None else None
            if target is None:
                self.output_truncated = True
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                f = os.fdopen(fd, "wb")
                self.files.append(rel)
        self.files_bytes += size
        if size == 0:
            if f is not None:
                f.close()
        else:
            self._cur = (f, size)

    def close(self) -> None:
        if self._cur is not None and self._cur[0] is not None:
            self._cur[0].close()
            self.output_truncated = True
        self._cur = None

    @staticmethod
    def _json(raw: bytes | bytearray) -> dict:
        try:
            data = json.loads(bytes(raw))
        except ValueError as exc:
            raise ProtocolError(f"supervisor sent invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ProtocolError("supervisor frame is not an object")
        return data


def safe_join(root: Path, rel: str) -> Path | None:
    """``root/rel`` if ``rel`` is a plain relative path that stays below ``root``
    and does not pass through a symlink; else None."""
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts) or "\0" in rel:
        return None
    cur = root
    for part in p.parts[:-1]:
        cur = cur / part
        if cur.is_symlink() or (cur.exists() and not cur.is_dir()):
            return None
    target = root.joinpath(*p.parts)
    if target.exists() or target.is_symlink():
        return None
    return target


def _decode_capture(cap: dict | None) -> tuple[str, bool]:
    if not cap:
        return "", False
    head = base64.b64decode(cap.get("head", ""))
    tail = base64.b64decode(cap.get("tail", ""))
    total = int(cap.get("total", 0))
    omitted = total - len(head) - len(tail)
    if omitted > 0:
        text = (head.decode("utf-8", "replace") + f"\n[... {omitted} bytes omitted ...]\n"
                + tail.decode("utf-8", "replace"))
        return text, True
    return (head + tail).decode("utf-8", "replace"), False


_MEMORY_PATTERNS = ("MemoryError", "Unable to allocate", "std::bad_alloc", "Cannot allocate memory",
                    "out of memory")


def result_from_header(header: dict, limits: Limits, *, backend: str, memory_by_rlimit: bool = False,
                       parser: StreamParser | None = None) -> RunResult:
    stdout, out_trunc = _decode_capture(header.get("stdout"))
    stderr, err_trunc = _decode_capture(header.get("stderr"))
    timed_out = bool(header.get("timed_out"))
    sig = header.get("signal")
    exit_code = None if timed_out else header.get("exit")
    oom_kills = header.get("oom_kills") or 0
    peak = header.get("peak_memory") or header.get("maxrss")
    failed = timed_out or exit_code != 0
    limit = where = None
    oom = False
    if header.get("output_killed"):
        limit = "output"
    elif oom_kills > 0:
        oom = True
        limit = "memory"
    elif memory_by_rlimit and failed and any(p in stderr[-4096:] for p in _MEMORY_PATTERNS):
        limit = "memory"
    elif (header.get("pids_max_events") or 0) > 0 and failed:
        limit = "pids"
    elif sig == signal.SIGXFSZ or (failed and (exit_code == 128 + signal.SIGXFSZ
                                               or "[Errno 27] File too large" in stderr
                                               or "File size limit exceeded" in stderr[-4096:])):
        limit = "file_size"
    elif header.get("full") and failed:
        limit = "disk"
        where = " and ".join(header["full"])
    elif timed_out:
        limit = "time"
    if limit == "memory" and timed_out:
        exit_code = None
    res = RunResult(
        exit_code=exit_code, stdout=stdout, stderr=stderr, duration_s=float(header.get("duration") or 0.0),
        timed_out=timed_out, oom_killed=oom, peak_memory_bytes=int(peak) if peak else None,
        limit_hit=limit, message=describe_limit(limit, limits, where or "") if limit else None,
        stdout_truncated=out_trunc, stderr_truncated=err_trunc,
        output_truncated=bool(parser and parser.output_truncated), backend=backend)
    return res
