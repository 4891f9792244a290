"""Docker backend: one hardened, single-use container per run.

Every container gets: no network (``network_mode=none``: only loopback, so a
connect fails at once with ENETUNREACH), a read-only root, ``cap_drop=ALL``,
``no-new-privileges``, a non-root user (uid 10001), memory = memory+swap, a
CPU quota, a pids limit, ``fsize``/``nofile``/``core`` ulimits, size-capped
``noexec`` tmpfs at ``/tmp``, ``/output`` and ``/dev/shm`` (they live in the
container's memory cgroup too), no log driver (nothing the container prints is
written to the daemon's disk), and the labels ``heldout.sandbox=1`` + the
request's own.

PID 1 of the container is the supervisor (``_supervisor.py``, passed with
``python3 -c``): it reads the request from stdin (over the attach socket),
runs the command with pipes, caps what it prints, enforces the timeout, reads
the cgroup's OOM/pids counters and peak memory, and streams the regular files
of ``/output`` back. Why a tmpfs at ``/output`` instead of binding the caller's
directory: a bind mount cannot be size-limited (no project quotas on the
worker's filesystem) and ``docker cp`` cannot read a tmpfs, so the supervisor
sends the files; the host writes at most ``Limits.output_bytes`` of regular
files (no symlinks, no ``..``) into ``RunRequest.output_dir``.

The backend keeps its own wall clock as a backstop (timeout + grace) and
removes the container on every path (``try/finally``, ``force=True``). If the
worker dies mid-run, the attach socket closes, the supervisor sees EOF on
stdin and kills everything; ``cleanup_leftovers()`` removes what is left.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
import uuid
from pathlib import Path

from . import _protocol as proto
from .base import RunRequest, RunResult, SandboxError, SandboxUnavailable, describe_limit

log = logging.getLogger(__name__)

LABEL = "heldout.sandbox"
SANDBOX_USER = "10001:10001"
# Host-side grace on top of Limits.timeout_s before the backend kills the
# container itself (the supervisor normally reports a timeout well before).
GRACE_S = 5.0
DIAG_CAP = 64 << 10
# gVisor (runtimes named runsc…) runs a kernel of its own, whose threads and (ptrace platform) stub processes
# count in the container's pids cgroup: a limit of Limits.pids there would make gVisor itself fail to start a
# thread and take the whole sandbox down. So under gVisor the cgroup keeps this much room above the limit, and
# the limit itself is RLIMIT_NPROC inside, which gVisor's kernel enforces for the sandbox alone.
GVISOR_PIDS_HEADROOM = 4096


def _fix_daemon(exc: Exception) -> SandboxUnavailable:
    return SandboxUnavailable(
        f"Docker daemon not reachable ({type(exc).__name__}: {exc}); start it "
        "(`systemctl start docker` or `dockerd &`) or point DOCKER_HOST at it")


def _fix_image(image: str) -> SandboxUnavailable:
    return SandboxUnavailable(
        f"sandbox image {image} missing: run `python -m heldout.runner.sandbox.image build`")


def _requests_errors():
    import requests.exceptions

    return requests.exceptions.ConnectionError


class _Demux:
    """Reads Docker's multiplexed attach stream (8-byte frame headers) from a raw socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise TimeoutError from None
            if not data:
                return False
            self.buf += data
        return True

    def frames(self, deadline: float):
        """Yield (stream, payload) until EOF; raise TimeoutError past the deadline."""
        while True:
            if not self._fill(8, deadline):
                return
            stream, size = self.buf[0], struct.unpack(">I", self.buf[4:8])[0]
            del self.buf[:8]
            while size:
                if not self._fill(1, deadline):
                    return
                chunk = bytes(self.buf[:size])
                del self.buf[: len(chunk)]
                size -= len(chunk)
                yield stream, chunk


class DockerSandbox:
    """Hardened single-use Docker containers. Thread-safe; the client is created lazily."""

    name = "docker"

    def __init__(self, image: str | None = None, *, client=None, user: str = SANDBOX_USER,
                 runtime: str | None = None):
        self._image = image
        self._client = client
        self._lock = threading.Lock()
        self.user = user
        self.runtime = runtime  # e.g. "runsc" where gVisor is installed; default runc
        self.last_timings: dict[str, float] = {}

    # -- plumbing -------------------------------------------------------
    @property
    def image(self) -> str:
        if self._image is None:
            from .image import expected_image_tag

            self._image = expected_image_tag()
        return self._image

    @property
    def client(self):  # noqa: ANN201 - a docker.DockerClient, imported on first use
        with self._lock:
            if self._client is None:
                try:
                    import docker

                    self._client = docker.from_env(timeout=30)
                except Exception as exc:  # noqa: BLE001
                    raise _fix_daemon(exc) from None
            return self._client

    @property
    def api(self):  # noqa: ANN201 - a docker.APIClient
        return self.client.api

    def check(self) -> None:
        import docker.errors

        try:
            self.api.ping()
        except SandboxUnavailable:
            raise  # already says how to fix it (no client could be made)
        except Exception as exc:  # noqa: BLE001
            raise _fix_daemon(exc) from None
        try:
            self.api.inspect_image(self.image)
        except docker.errors.ImageNotFound:
            raise _fix_image(self.image) from None
        except docker.errors.APIError as exc:
            raise _fix_daemon(exc) from None
        if self.runtime:
            self.check_runtime()

    def check_runtime(self) -> None:
        """The daemon knows ``self.runtime`` (``docker info``'s Runtimes); else SandboxUnavailable saying how."""
        try:
            registered = sorted((self.api.info().get("Runtimes") or {}).keys())
        except Exception as exc:  # noqa: BLE001
            raise _fix_daemon(exc) from None
        if self.runtime not in registered:
            raise SandboxUnavailable(
                f"the Docker daemon has no runtime {self.runtime!r} (it has {', '.join(registered) or 'none'}): "
                "install it (gVisor: apt-get install runsc) and register it under \"runtimes\" in "
                "/etc/docker/daemon.json, then reload dockerd (kill -HUP its pid)")

    @property
    def gvisor(self) -> bool:
        return bool(self.runtime) and str(self.runtime).startswith("runsc")

    def host_pids_limit(self, pids: int) -> int:
        """The container's pids cgroup limit for a run limited to ``pids`` (see GVISOR_PIDS_HEADROOM)."""
        return pids + GVISOR_PIDS_HEADROOM if self.gvisor else pids

    # -- container spec -------------------------------------------------
    def container_spec(self, request: RunRequest, *, name: str | None = None,
                       extra_labels: dict[str, str] | None = None, command: list[str] | None = None,
                       environment: dict[str, str] | None = None) -> dict:
        """Keyword arguments for ``APIClient.create_container`` (exposed for tests/pool).

        ``command``/``environment`` replace the supervisor and its environment, with the same hardening
        (the warm scorer's server, ``warm.py``)."""
        from docker.types import LogConfig, Mount, Ulimit

        lim = request.limits
        mounts = [Mount(target=m.target, source=str(Path(m.source).resolve()), type="bind",
                        read_only=m.read_only and not (m.fifos and self.gvisor)) for m in request.mounts]
        shm = min(lim.tmpfs_bytes, 64 << 20)
        host_config = self.api.create_host_config(
            mounts=mounts,
            tmpfs={
                "/tmp": f"rw,nosuid,nodev,noexec,size={lim.tmpfs_bytes},mode=1777",
                proto.OUTPUT_TARGET: f"rw,nosuid,nodev,noexec,size={lim.output_bytes},mode=1777",
            },
            read_only=True,
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=lim.memory_bytes,
            memswap_limit=lim.memory_bytes,
            nano_cpus=int(lim.cpus * 1e9),
            pids_limit=self.host_pids_limit(lim.pids),
            ulimits=[Ulimit(name="fsize", soft=lim.file_size_bytes, hard=lim.file_size_bytes),
                     Ulimit(name="nofile", soft=lim.open_files, hard=lim.open_files),
                     Ulimit(name="core", soft=0, hard=0)],
            shm_size=shm,
            ipc_mode="private",
            log_config=LogConfig(type="none"),
            init=False,
            privileged=False,
            runtime=self.runtime,
        )
        labels = {LABEL: "1", f"{LABEL}.created": str(int(time.time()))}
        labels.update(request.labels)
        labels.update(extra_labels or {})
        return dict(
            image=self.image,
            command=command or ["python3", "-I", "-S", "-c", proto.supervisor_source()],
            user=self.user,
            working_dir="/",
            environment=environment or {"PATH": proto.BASE_ENV["PATH"], "LANG": "C.UTF-8"},
            stdin_open=True,  # docker-py also sets StdinOnce: EOF on stdin when the worker goes away
            use_config_proxy=False,  # never inject the worker's proxy settings
            tty=False,
            network_disabled=True,
            labels=labels,
            host_config=host_config,
            name=name or f"heldout-sbx-{uuid.uuid4().hex[:12]}",
            hostname="sandbox",
        )

    def supervisor_request(self, request: RunRequest) -> bytes:
        lim = request.limits
        return proto.request_line(
            request, env=proto.child_env(request),
            writable=["/tmp", proto.OUTPUT_TARGET, "/dev/shm"], cgroup=True,
            rlimits={"fsize": lim.file_size_bytes, "nofile": lim.open_files, "core": 0,
                     # Under runc, NPROC would count every sandbox of the host's uid 10001 together.
                     **({"nproc": lim.pids} if self.gvisor else {})})

    # -- lifecycle ------------------------------------------------------
    def create(self, request: RunRequest, **kw) -> tuple[str, socket.socket, object]:
        """Create a container and attach to it (not started). Returns (id, raw socket, response holder)."""
        import docker.errors

        try:
            cid = self.api.create_container(**self.container_spec(request, **kw))["Id"]
        except docker.errors.ImageNotFound:
            raise _fix_image(self.image) from None
        except docker.errors.APIError as exc:
            if exc.status_code == 404 and "image" in str(exc).lower():
                raise _fix_image(self.image) from None
            raise SandboxError(f"docker create failed: {exc}") from None
        except (OSError, ConnectionError, _requests_errors()) as exc:  # daemon gone
            raise _fix_daemon(exc) from None
        try:
            holder = self.api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            raw = getattr(holder, "_sock", holder)
        except BaseException:
            self.remove(cid)
            raise
        return cid, raw, holder

    def remove(self, cid: str) -> None:
        import docker.errors

        import requests.exceptions

        for attempt in range(3):
            try:
                self.api.remove_container(cid, force=True, v=True)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if "already in progress" in str(exc):
                    self._wait_removed(cid)
                    return
                log.warning("removing sandbox container %s failed (attempt %d): %s", cid[:12], attempt + 1, exc)
                time.sleep(0.1)
            except requests.exceptions.ReadTimeout:
                # A busy daemon, or gVisor tearing down a sandbox of many processes: the removal goes on there.
                log.warning("removing sandbox container %s is slow (attempt %d)", cid[:12], attempt + 1)
            except Exception as exc:  # noqa: BLE001 - daemon gone: cleanup_leftovers() will get it
                log.warning("removing sandbox container %s failed: %s", cid[:12], exc)
                return

    def _wait_removed(self, cid: str, timeout_s: float = 60.0) -> None:
        import docker.errors

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.api.inspect_container(cid)
            except docker.errors.NotFound:
                return
            except Exception:  # noqa: BLE001 - cleanup_leftovers() gets what is left
                return
            time.sleep(0.2)

    def run(self, request: RunRequest) -> RunResult:
        proto.validate_request(request)
        t0 = time.monotonic()
        cid, sock, holder = self.create(request)
        t_created = time.monotonic()
        try:
            try:
                self.api.start(cid)
            except Exception as exc:  # noqa: BLE001
                raise SandboxError(f"docker start failed: {exc}") from None
            t_started = time.monotonic()
            result = self.exchange(cid, sock, request)
            t_done = time.monotonic()
        finally:
            try:
                sock.close()
                if hasattr(holder, "close") and holder is not sock:
                    holder.close()
            except OSError:
                pass
            self.remove(cid)
        t_removed = time.monotonic()
        self.last_timings = {"create": t_created - t0, "start": t_started - t_created,
                             "run": t_done - t_started, "remove": t_removed - t_done, "total": t_removed - t0}
        result.overhead_s = max(0.0, (t_removed - t0) - result.duration_s)
        return result

    def exchange(self, cid: str, sock: socket.socket, request: RunRequest) -> RunResult:
        """Send the request to a started, attached container and collect its result."""
        lim = request.limits
        parser = proto.StreamParser(lim, request.output_dir)
        diag = bytearray()
        t_send = time.monotonic()
        try:
            sock.sendall(self.supervisor_request(request))
        except OSError as exc:
            raise SandboxError(f"cannot send the request to the sandbox: {exc}") from None
        deadline = t_send + lim.timeout_s + GRACE_S
        host_timeout = False
        protocol_error = None
        try:
            demux = _Demux(sock)
            frames = demux.frames(deadline)
            for stream, chunk in frames:
                if stream == 1:
                    had_header = parser.header is not None
                    parser.feed(chunk)
                    if parser.done:
                        break
                    if not had_header and parser.header is not None:
                        # The run is over; streaming /output gets its own budget.
                        frames.close()
                        frames = demux.frames(time.monotonic() + GRACE_S + lim.output_bytes / (50 << 20))
                        for stream2, chunk2 in frames:
                            if stream2 == 1:
                                parser.feed(chunk2)
                                if parser.done:
                                    break
                        break
                elif len(diag) < DIAG_CAP:
                    diag += chunk[: DIAG_CAP - len(diag)]
        except TimeoutError:
            host_timeout = True
        except proto.ProtocolError as exc:
            protocol_error = exc
        finally:
            parser.close()
        if parser.header is not None and not host_timeout and protocol_error is None:
            return proto.result_from_header(parser.header, lim, backend=self.name, parser=parser)
        return self._failed_run(cid, request, parser, diag, host_timeout, protocol_error, t_send)

    def _failed_run(self, cid, request, parser, diag, host_timeout, protocol_error, t_send) -> RunResult:
        """The supervisor did not report: the container itself was killed (OOM) or hung."""
        lim = request.limits
        duration = time.monotonic() - t_send
        if parser.header is not None:  # header arrived but the file stream did not finish
            res = proto.result_from_header(parser.header, lim, backend=self.name, parser=parser)
            res.output_truncated = True
            return res
        state = {}
        try:
            if host_timeout:
                self.api.kill(cid)
            state = self.api.inspect_container(cid).get("State", {})
        except Exception:  # noqa: BLE001
            pass
        text = bytes(diag).decode("utf-8", "replace")
        # runsc does not report its sandbox's OOM kill to Docker: under gVisor a SIGKILL from outside with no
        # report is the memory cgroup's (or the participant's own `kill -9 1`, which gains it nothing).
        gvisor_oom = self.gvisor and state.get("ExitCode") == 137 and not host_timeout
        if state.get("OOMKilled") or gvisor_oom:
            return RunResult(exit_code=137, stdout="", stderr=text, duration_s=duration, oom_killed=True,
                             limit_hit="memory", message=describe_limit("memory", lim), backend=self.name)
        if host_timeout:
            return RunResult(exit_code=None, stdout="", stderr=text, duration_s=duration, timed_out=True,
                             limit_hit="time", message=describe_limit("time", lim), backend=self.name)
        raise SandboxError(f"sandbox supervisor failed (exit {state.get('ExitCode')}, "
                           f"{protocol_error or 'no result'}): {text[-2000:]}")

    # -- housekeeping ---------------------------------------------------
    def leftovers(self) -> list[dict]:
        return self.api.containers(all=True, filters={"label": f"{LABEL}=1"})

    def cleanup_leftovers(self, max_age_s: float = 0.0, *, running_max_age_s: float = 4 * 3600.0) -> int:
        """See :func:`cleanup_leftovers`."""
        return cleanup_leftovers(max_age_s, running_max_age_s=running_max_age_s, client=self.client)


def cleanup_leftovers(max_age_s: float = 0.0, *, running_max_age_s: float = 4 * 3600.0, client=None) -> int:
    """Remove leftover containers labelled ``heldout.sandbox=1``; return how many.

    Stopped (exited/created/dead) ones older than ``max_age_s`` are always
    garbage: a live run's container is running. Running ones are removed only
    when older than ``running_max_age_s``, far beyond any timeout, so a worker
    starting beside others on the same daemon never kills their runs (a
    sandbox whose worker died stops by itself: its supervisor sees EOF on
    stdin). Called by the worker at start-up. Raises SandboxUnavailable if the
    daemon is unreachable.
    """
    import docker.errors

    if client is None:
        try:
            import docker

            client = docker.from_env(timeout=30)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            raise _fix_daemon(exc) from None
    try:
        found = client.api.containers(all=True, filters={"label": f"{LABEL}=1"})
    except Exception as exc:  # noqa: BLE001
        raise _fix_daemon(exc) from None
    now = time.time()
    removed = 0
    for c in found:
        age = now - float(c.get("Created", 0))
        limit = running_max_age_s if c.get("State") in ("running", "paused", "restarting") else max_age_s
        if age < limit:
            continue
        try:
            client.api.remove_container(c["Id"], force=True, v=True)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            log.warning("could not remove leftover sandbox %s: %s", c["Id"][:12], exc)
    return removed


def _json_dumps(obj) -> str:  # pragma: no cover - debugging helper
    return json.dumps(obj, indent=2, default=str)
