"""The warm scorer: one long-lived, hardened scorer container per worker, a forked child per prediction file.

A fresh container and a fresh Python importing NumPy cost ~10x what reading,
checking and scoring a 10,000-row file does. Prediction files run no
participant code, only Heldout's own scorer, so a worker keeps one **scorer
sandbox**: a container built by :meth:`DockerSandbox.container_spec` (no
network, read-only root, no capabilities, uid 10001, memory/pids/CPU limits,
size-capped ``noexec`` tmpfs) with the worker's file roots (its storage or its
file cache) bound read-only at ``/files/<n>``. Inside, ``_warm_server.py``
imports the scorer once and forks a child per submission, with its own rlimits,
its own directory on the tmpfs and a time limit (see there).

The sandbox is **recycled** (removed, and a new one started for the next file)
after ``max_uses`` files, after any child hit a limit, and when the image
behind its tag changes (checked at most every ``generation_check_s``), and after an hour; the
scorer code lives in the image, whose tag is a hash of that code. If the
container dies mid-child (killed, OOM of the whole container, daemon restart),
:class:`WarmSandboxLost` is raised: the submission gets a platform error,
which is retried (``runner.claims.record_outcome``), never lost.

Code submissions and policies never come here: they keep fresh single-use
containers (``HELDOUT_SCORER=warm|fresh`` chooses for prediction files only).
"""

from __future__ import annotations

import json
import logging
import stat
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

from . import _protocol as proto
from .base import Limits, Mount, RunRequest, RunResult, SandboxError, SandboxUnavailable
from .docker_backend import GRACE_S, DockerSandbox, _Demux

log = logging.getLogger(__name__)

SERVER_PATH = Path(__file__).with_name("_warm_server.py")
WARM_LABEL = "heldout.sandbox.warm"
MAX_USES = 500
# What the server itself holds (Python, NumPy, pandas, scikit-learn imported once) on top of a child's budget.
SERVER_MEMORY_BYTES = 512 << 20
START_TIMEOUT_S = 60.0
FILES_TARGET = "/files"
# Well below the age at which a starting worker removes a running sandbox as abandoned (docker_backend).
MAX_AGE_S = 3600.0


@lru_cache(maxsize=1)
def server_source() -> str:
    return proto.in_sandbox_source() + "\n\n" + SERVER_PATH.read_text()


class WarmSandboxLost(SandboxError):
    """The scorer sandbox stopped answering mid-file (killed, crashed, daemon gone): retry the submission."""


@dataclass(frozen=True)
class ScoreFiles:
    """One prediction file to score: the spec (as stored on the challenge) and two host paths."""

    spec: dict
    submission: Path
    solution: Path


@dataclass(frozen=True)
class WarmScore:
    """How scoring one file ended: the run (limits, exit status, stderr) and the scorer's result file."""

    run: RunResult
    payload: dict | None


class Scorer(Protocol):
    """What ``runner.execute.score_predictions`` needs of a warm scorer (tests fake it)."""

    def score(self, files: ScoreFiles, limits: Limits) -> WarmScore | None:
        """The result, or None when this scorer cannot see the files (the caller runs a fresh sandbox)."""
        ...

    def close(self) -> None: ...


def request_line(n: int, spec: dict, submission: str, solution: str, limits: Limits) -> bytes:
    """The server's request for one file (paths as the server sees them): what to score, and the child's limits."""
    request = {"id": n, "spec": spec, "submission": submission, "solution": solution,
               "timeout": float(limits.timeout_s), "memory": int(limits.memory_bytes),
               "fsize": int(limits.file_size_bytes), "nofile": int(limits.open_files),
               "cap": int(limits.output_cap_bytes)}
    return (json.dumps(request) + "\n").encode()


def should_recycle(uses: int, max_uses: int, limit_hit: str | None, generation_changed: bool) -> bool:
    """Whether the scorer sandbox is replaced before the next file.

    >>> should_recycle(499, 500, None, False), should_recycle(500, 500, None, False)
    (False, True)
    >>> should_recycle(1, 500, "memory", False), should_recycle(1, 500, None, True)
    (True, True)
    """
    return uses >= max_uses or limit_hit is not None or generation_changed


@dataclass
class _Live:
    cid: str
    sock: object
    holder: object
    demux: _Demux
    generation: str
    started_at: float = field(default_factory=time.monotonic)
    uses: int = 0
    limits: Limits | None = None
    buf: bytearray = field(default_factory=bytearray)


class WarmScorer:
    """A :class:`Scorer` over the Docker backend. One file at a time (a lock); started on first use."""

    name = "docker-warm"

    def __init__(self, backend: DockerSandbox, roots: list[Path], *, max_uses: int = MAX_USES,
                 generation: Callable[[], str] | None = None, generation_check_s: float = 10.0):
        self.backend = backend
        self.roots = [Path(r).resolve() for r in roots]
        self.max_uses = max_uses
        self._generation = generation or self._image_id
        self.generation_check_s = generation_check_s
        self._checked_at = 0.0
        self._live: _Live | None = None
        self._lock = threading.Lock()
        self.started = 0  # how many scorer sandboxes this scorer has started (tests, bench)
        self._said_unseen = False

    # -- the host's view of paths -----------------------------------------
    def container_path(self, host: Path) -> str | None:
        """Where the sandbox sees ``host``; None when it cannot (outside the roots, or unreadable by its user)."""
        path = Path(host).resolve()
        for i, root in enumerate(self.roots):
            if path.is_relative_to(root) and _readable_by_others(root, path):
                return f"{FILES_TARGET}/{i}/{path.relative_to(root).as_posix()}"
        return None

    def _image_id(self) -> str:
        return str(self.backend.api.inspect_image(self.backend.image).get("Id"))

    # -- Scorer --------------------------------------------------------------
    def score(self, files: ScoreFiles, limits: Limits) -> WarmScore | None:
        submission, solution = self.container_path(files.submission), self.container_path(files.solution)
        if submission is None or solution is None or not self.roots:
            self._say_unseen(files.solution if solution is None else files.submission)
            return None
        with self._lock:
            live = self._ensure(limits)
            request = request_line(live.uses + 1, files.spec, submission, solution, limits)
            try:
                live.sock.sendall(request)  # type: ignore[attr-defined]
                answer = self._read_line(live, time.monotonic() + limits.timeout_s + GRACE_S)
            except (OSError, TimeoutError, proto.ProtocolError) as exc:
                self._recycle()
                raise WarmSandboxLost(f"the scorer sandbox stopped while scoring a file ({type(exc).__name__}: "
                                      f"{exc})") from None
            live.uses += 1
            header = answer.get("header")
            if not isinstance(header, dict):
                self._recycle()
                raise WarmSandboxLost("the scorer sandbox sent no result header")
            run = proto.result_from_header(header, limits, backend=self.name, memory_by_rlimit=True)
            if should_recycle(live.uses, self.max_uses, run.limit_hit, False):
                self._recycle()
            payload = answer.get("payload")
            return WarmScore(run=run, payload=payload if isinstance(payload, dict) else None)

    def close(self) -> None:
        with self._lock:
            self._recycle()

    def _say_unseen(self, path: Path) -> None:
        """Once per worker: a file the scorer sandbox cannot read is scored in a fresh sandbox, ~10x slower."""
        if self._said_unseen:
            return
        self._said_unseen = True
        log.warning("the warm scorer cannot read %s (outside %s, or not readable by the sandbox's user, uid 10001): "
                    "such files are scored in fresh sandboxes, about ten times slower; make the data directory "
                    "readable by others (chmod o+rx on each directory, o+r on the files)", path,
                    ", ".join(map(str, self.roots)) or "no mounted directory")

    # -- lifecycle -------------------------------------------------------------
    def _ensure(self, limits: Limits) -> _Live:
        live = self._live
        now = time.monotonic()
        if live is not None and live.limits is not None and _container_limits(live.limits) != _container_limits(limits):
            self._recycle()  # the container's own limits were set for other ones (a child's time limit is its own)
            live = None
        if live is not None and now - self._checked_at > self.generation_check_s:
            self._checked_at = now
            try:
                changed = self._generation() != live.generation
            except Exception:  # noqa: BLE001 - the daemon hiccuped: keep the sandbox, the next check decides
                changed = False
            changed = changed or now - live.started_at > MAX_AGE_S
            if should_recycle(live.uses, self.max_uses, None, changed):
                self._recycle()
                live = None
        if live is None:
            live = self._live = self._start(limits)
        return live

    def _start(self, limits: Limits) -> _Live:
        generation = self._generation()
        self._checked_at = time.monotonic()
        # The container's memory: a child's budget plus the server's; each child is held to its own budget by rlimit.
        container = Limits(timeout_s=limits.timeout_s, memory_bytes=limits.memory_bytes + SERVER_MEMORY_BYTES,
                           cpus=limits.cpus, pids=limits.pids, tmpfs_bytes=limits.tmpfs_bytes,
                           file_size_bytes=limits.file_size_bytes, open_files=limits.open_files,
                           output_bytes=1 << 20)
        template = RunRequest(argv=["true"], limits=container, labels={WARM_LABEL: "1"},
                              mounts=[Mount(root, f"{FILES_TARGET}/{i}") for i, root in enumerate(self.roots)])
        env = proto.child_env(template)
        cid, sock, holder = self.backend.create(
            template, command=["python3", "-c", server_source()], environment=env)
        live = _Live(cid=cid, sock=sock, holder=holder, demux=_Demux(sock), generation=generation,
                     limits=limits)
        try:
            self.backend.api.start(cid)
            ready = self._read_line(live, time.monotonic() + START_TIMEOUT_S)
        except BaseException as exc:
            self._live = live
            self._recycle()
            if isinstance(exc, (OSError, TimeoutError, proto.ProtocolError)):
                raise SandboxUnavailable(f"the warm scorer sandbox did not start ({type(exc).__name__}: {exc})") \
                    from None
            raise
        if not ready.get("ready"):
            self._live = live
            self._recycle()
            raise SandboxUnavailable(f"the warm scorer sandbox did not start: {ready}")
        self.started += 1
        log.info("warm scorer sandbox %s started (scorer imported in %.2fs)", cid[:12], ready.get("import_s") or 0)
        return live

    def _read_line(self, live: _Live, deadline: float) -> dict:
        """The next JSON line on the server's stdout; its stderr is kept for the error message."""
        diag = bytearray()
        while b"\n" not in live.buf:
            got = False
            for stream, chunk in live.demux.frames(deadline):
                got = True
                if stream == 1:
                    live.buf += chunk
                    if b"\n" in live.buf:
                        break
                elif len(diag) < 8192:
                    diag += chunk
            else:
                if b"\n" not in live.buf:
                    text = bytes(diag).decode("utf-8", "replace")[-2000:]
                    raise proto.ProtocolError(f"the scorer server ended{': ' + text if text else ''}"
                                              if got or diag else "the scorer server ended")
        line, _, rest = bytes(live.buf).partition(b"\n")
        live.buf = bytearray(rest)
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise proto.ProtocolError(f"the scorer server sent invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise proto.ProtocolError("the scorer server sent a non-object")
        return data

    def _recycle(self) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        try:
            live.sock.close()  # type: ignore[attr-defined]
            if live.holder is not live.sock and hasattr(live.holder, "close"):
                live.holder.close()
        except OSError:
            pass
        self.backend.remove(live.cid)

    @property
    def container_id(self) -> str | None:
        return self._live.cid if self._live is not None else None


def _readable_by_others(root: Path, path: Path) -> bool:
    """The sandbox's user (not the worker's) can reach and read ``path``: o+x on each directory, o+r on the file."""
    try:
        if not path.stat().st_mode & stat.S_IROTH:
            return False
        below_root = list(path.parents)[:len(path.relative_to(root).parts) - 1]
        return all(d.stat().st_mode & stat.S_IXOTH for d in [root, *below_root])
    except OSError:
        return False


def _container_limits(limits: Limits) -> tuple:
    return (limits.memory_bytes, limits.cpus, limits.pids, limits.tmpfs_bytes, limits.file_size_bytes,
            limits.open_files)


def storage_roots(storage) -> list[Path]:  # noqa: ANN001
    """Where a storage's ``local_file`` paths live on this machine: the roots the scorer sandbox mounts."""
    roots = []
    root = getattr(storage, "root", None)
    if root is not None:
        roots.append(Path(root))
    cache = getattr(storage, "cache", None)
    cache_root = getattr(cache, "cache_root", None)
    if cache_root is not None:
        Path(cache_root).mkdir(parents=True, exist_ok=True)
        roots.append(Path(cache_root))
    return [r for r in roots if r.is_dir()]
