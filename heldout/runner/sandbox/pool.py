"""PrestartedPool: single-use Docker sandboxes created and started ahead of time.

Creating, starting and removing a container costs ~0.2 s on the Docker
daemon, more than a whole scoring run. The pool keeps ``size`` containers
already running their supervisor, blocked reading their request from stdin.
A run takes one, fills its input directories, sends the request, reads the
result, and the container is then removed in the background while a fresh one
is started to replace it. **A container is never reused**: each serves exactly
one request, then is destroyed with everything the code wrote.

Bind mounts cannot be added to a running container, so every pooled container
is created with a fixed *layout*: one empty per-slot host directory bound
read-only at each of ``mount_targets`` (default ``/input``, ``/data``,
``/submission``). A request fits the pool when each of its mounts is
read-only and its target is one of those directories (a directory source) or
lies below one (a file or directory source, e.g. ``/input/spec.json``), and
its tmpfs sizes equal the pool's (ulimits may be lower). Its files are then
hard-linked (copied across filesystems) into the slot before the request is
sent. Memory, CPU and pids limits that differ from the pool's are applied
with ``docker update`` before the request is sent (the container is idle and
tiny then). Any other request
runs on a fresh container through the wrapped backend, with the same result.
Request labels cannot be added to a running container: pooled containers
carry ``heldout.sandbox=1`` and ``heldout.sandbox.pool=1`` only.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from heldout.config import sandbox_build_env

from .base import Limits, Mount, RunRequest, RunResult, SandboxUnavailable
from .docker_backend import DockerSandbox
from . import _protocol as proto

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ("/input", "/data", "/submission")
MAX_IDLE_S = 600.0


@dataclass
class _Slot:
    cid: str
    sock: socket.socket
    holder: object
    root: Path
    dirs: dict[str, Path]
    created: float


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy, across filesystems) the regular files and dirs under src into dst."""
    for dirpath, _dirnames, filenames in os.walk(src, followlinks=False):
        rel = Path(dirpath).relative_to(src)
        target_dir = dst / rel
        target_dir.mkdir(mode=0o755, exist_ok=True)
        for name in filenames:
            s = Path(dirpath) / name
            if s.is_symlink() or not s.is_file():
                continue
            d = target_dir / name
            try:
                os.link(s, d)
            except OSError:
                shutil.copyfile(s, d)
                os.chmod(d, 0o644)


class PrestartedPool:
    name = "docker"

    def __init__(self, backend: DockerSandbox | None = None, *, size: int = 2, limits: Limits | None = None,
                 mount_targets: tuple[str, ...] = DEFAULT_TARGETS, root: Path | None = None,
                 max_idle_s: float = MAX_IDLE_S):
        self.backend = backend or DockerSandbox()
        self.size = max(1, int(size))
        self.limits = limits or Limits()
        self.mount_targets = tuple(mount_targets)
        self.max_idle_s = max_idle_s
        base = root or sandbox_build_env().pool_dir or Path(tempfile.gettempdir())
        self.root = Path(tempfile.mkdtemp(prefix="heldout-pool-", dir=base))
        os.chmod(self.root, 0o755)
        self._ready: queue.Queue[_Slot] = queue.Queue()
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._pending = 0
        self._lock = threading.Lock()
        self._reaper_q: queue.Queue[_Slot | None] = queue.Queue()
        self.stats = {"pooled": 0, "cold": 0}
        self._filler = threading.Thread(target=self._fill_loop, name="heldout-pool-fill", daemon=True)
        self._reaper = threading.Thread(target=self._reap_loop, name="heldout-pool-reap", daemon=True)
        self._filler.start()
        self._reaper.start()

    # -- Sandbox interface ------------------------------------------------
    @property
    def image(self) -> str:
        return self.backend.image

    def check(self) -> None:
        self.backend.check()

    def cleanup_leftovers(self, max_age_s: float = 0.0, **kw) -> int:
        """Leftovers of *other* (dead) workers; this pool's running containers are young and kept."""
        return self.backend.cleanup_leftovers(max_age_s, **kw)

    def run(self, request: RunRequest) -> RunResult:
        if self._closed.is_set():
            raise SandboxUnavailable("sandbox pool is closed")
        proto.validate_request(request)
        if not self.fits(request):
            self.stats["cold"] += 1
            return self.backend.run(request)
        slot = None
        while slot is None:
            try:
                slot = self._ready.get_nowait()
            except queue.Empty:
                self.stats["cold"] += 1
                return self.backend.run(request)
            if time.monotonic() - slot.created > self.max_idle_s:  # stale: replace, never reuse
                self._reaper_q.put(slot)
                slot = None
        import docker.errors

        try:
            self._populate(slot, request)
            self._update_limits(slot, request.limits)
        except docker.errors.NotFound:
            # The idle container was removed under us (an operator, a clean-up): a fresh one serves instead.
            self._reaper_q.put(slot)
            self._wake.set()
            self.stats["cold"] += 1
            return self.backend.run(request)
        self.stats["pooled"] += 1
        t0 = time.monotonic()
        try:
            result = self.backend.exchange(slot.cid, slot.sock, request)
        finally:
            # Replace and remove only now: on a small worker, starting a
            # container while the run imports pandas costs the run ~100 ms.
            self._reaper_q.put(slot)
            self._wake.set()
        result.overhead_s = max(0.0, time.monotonic() - t0 - result.duration_s)
        return result

    def fits(self, request: RunRequest) -> bool:
        a, b = request.limits, self.limits
        if (a.tmpfs_bytes, a.output_bytes) != (b.tmpfs_bytes, b.output_bytes):
            return False
        if a.file_size_bytes > b.file_size_bytes or a.open_files > b.open_files:
            return False
        if self.backend.gvisor and (a.memory_bytes, a.cpus, a.pids) != (b.memory_bytes, b.cpus, b.pids):
            return False  # runsc cannot `docker update` a running container's limits: a fresh one serves
        return all(self._place(m) is not None for m in request.mounts)

    def _place(self, m: Mount) -> tuple[str, str] | None:
        """(layout target, relative path below it) for a mount that fits, else None."""
        if not m.read_only:
            return None
        src = Path(m.source)
        for t in self.mount_targets:
            if m.target == t:
                return (t, "") if src.is_dir() and not src.is_symlink() else None
            if m.target.startswith(t + "/"):
                return (t, m.target[len(t) + 1:]) if (src.is_dir() or src.is_file()) else None
        return None

    def _populate(self, slot: _Slot, request: RunRequest) -> None:
        for m in request.mounts:
            target, rel = self._place(m)  # type: ignore[misc]
            dst = slot.dirs[target] / rel if rel else slot.dirs[target]
            src = Path(m.source)
            if src.is_dir():
                dst.mkdir(mode=0o755, parents=True, exist_ok=True)
                _link_tree(src, dst)
            else:
                dst.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copyfile(src, dst)
                    os.chmod(dst, 0o644)

    def _update_limits(self, slot: _Slot, limits: Limits) -> None:
        b = self.limits
        if (limits.memory_bytes, limits.cpus, limits.pids) == (b.memory_bytes, b.cpus, b.pids):
            return
        api = self.backend.api
        body = {"Memory": limits.memory_bytes, "MemorySwap": limits.memory_bytes,
                "NanoCpus": int(limits.cpus * 1e9), "PidsLimit": self.backend.host_pids_limit(limits.pids)}
        res = api._post_json(api._url("/containers/{0}/update", slot.cid), data=body)
        api._raise_for_status(res)

    # -- lifecycle ----------------------------------------------------------
    def _template(self, root: Path) -> RunRequest:
        return RunRequest(argv=["true"], limits=self.limits,
                          mounts=[Mount(root / f"m{i}", t) for i, t in enumerate(self.mount_targets)])

    def _start_one(self) -> _Slot:
        root = self.root / uuid.uuid4().hex[:12]
        root.mkdir(mode=0o755)
        dirs = {}
        for i, t in enumerate(self.mount_targets):
            d = root / f"m{i}"
            d.mkdir(mode=0o755)
            dirs[t] = d
        try:
            cid, sock, holder = self.backend.create(self._template(root), extra_labels={"heldout.sandbox.pool": "1"})
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        slot = _Slot(cid, sock, holder, root, dirs, time.monotonic())
        try:
            self.backend.api.start(cid)
        except BaseException:
            self._destroy(slot)
            raise
        return slot

    def _fill_loop(self) -> None:
        backoff = 0.5
        while not self._closed.is_set():
            if self._ready.qsize() >= self.size:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                slot = self._start_one()
            except Exception as exc:  # noqa: BLE001 - daemon hiccup: retry later, runs fall back to cold
                log.warning("sandbox pool could not start a container: %s", exc)
                self._closed.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            backoff = 0.5
            if self._closed.is_set():
                self._destroy(slot)
                return
            self._ready.put(slot)

    def _destroy(self, slot: _Slot) -> None:
        try:
            slot.sock.close()
            if slot.holder is not slot.sock and hasattr(slot.holder, "close"):
                slot.holder.close()
        except OSError:
            pass
        self.backend.remove(slot.cid)
        shutil.rmtree(slot.root, ignore_errors=True)

    def _reap_loop(self) -> None:
        while True:
            slot = self._reaper_q.get()
            if slot is None:
                return
            try:
                self._destroy(slot)
            finally:
                self._reaper_q.task_done()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until the pool holds ``size`` started containers (for tests/benchmarks)."""
        deadline = time.monotonic() + timeout
        while self._ready.qsize() < self.size:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def drain(self) -> None:
        """Wait until every used container has been removed."""
        self._reaper_q.join()

    def close(self) -> None:
        """Stop refilling, remove idle and used containers, delete the slot directories."""
        self._closed.set()
        self._wake.set()
        self._filler.join(timeout=60)
        while True:
            try:
                self._reaper_q.put(self._ready.get_nowait())
            except queue.Empty:
                break
        self._reaper_q.join()
        self._reaper_q.put(None)
        self._reaper.join(timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
