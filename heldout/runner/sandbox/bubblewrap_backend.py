"""Bubblewrap backend: for workers without Docker.

The sandbox sees a read-only view of ``/usr`` (+ the merged-usr symlinks),
a few generated ``/etc`` files, the worker's Python prefix(es), the scoring
package at ``/opt/heldout/heldout`` (``__init__.py`` and ``challenges/`` only,
as in the image) and the request's mounts; ``/tmp``, ``/output`` and
``/dev/shm`` are size-capped tmpfs; ``/`` and ``/dev`` are remounted
read-only. All namespaces are unshared (no network: loopback only), all
capabilities dropped, nested user namespaces disabled, uid/gid 65534, a new
session (no TIOCSTI), and the sandbox dies with the worker.

The same supervisor as in Docker runs as PID 1 (``--as-pid-1``) and applies
rlimits to the command. What bubblewrap **cannot** enforce (no cgroup):

* memory is ``RLIMIT_AS`` (address space, per process): a program that maps
  much more than it touches fails early, one that forks N children may use
  N x the limit, and tmpfs contents are not counted; there is no OOM kill, a
  failed allocation surfaces as MemoryError (reported as ``limit_hit="memory"``
  when the traceback says so) and there is no cgroup peak (``maxrss`` of the
  main process instead);
* pids: only ``RLIMIT_NPROC``, which counts per *host* uid and does not apply
  at all when the worker runs as root (the sandbox uid maps to the caller's);
  a fork bomb then runs until the timeout, bounded only by the host's limits;
* CPU share: no quota; ``RLIMIT_CPU`` (timeout + 1 s of CPU time per
  process) plus the wall-clock timeout only;
* no seccomp filter (the kernel's whole syscall surface is reachable).

When the worker runs as root, the sandbox's uid 65534 maps to host root
(files it could write through a writable mount would be root's): run the
worker as an unprivileged user in production.
"""

from __future__ import annotations

import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import _protocol as proto
from .base import RunRequest, RunResult, SandboxError, SandboxUnavailable, describe_limit

SANDBOX_UID = 65534
GRACE_S = 5.0
DIAG_CAP = 64 << 10

# The sandbox's /etc/passwd (no password in it: "x" sends the system to /etc/shadow, which is absent).
_PASSWD = "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nsandbox:x:65534:65534:sandbox:/tmp:/usr/sbin/nologin\n"  # noqa: E501
_GROUP = "root:x:0:\nsandbox:x:65534:\n"
_HOSTS = "127.0.0.1 localhost\n::1 localhost\n"


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


class BubblewrapSandbox:
    name = "bubblewrap"

    def __init__(self, *, python_prefixes: list[Path] | None = None, bwrap: str | None = None):
        self.bwrap = bwrap or _bwrap_path()
        prefixes = python_prefixes or [Path(sys.base_prefix), Path(sys.prefix)]
        self.python_prefixes = [p.resolve() for p in dict.fromkeys(prefixes)]
        import heldout

        self.package_dir = Path(heldout.__file__).resolve().parent
        self._checked = False

    # -- availability -----------------------------------------------------
    def check(self) -> None:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap not installed: `apt-get install -y bubblewrap`")
        probe = RunRequest(argv=["python3", "-c", "import heldout.challenges"], mounts=[],
                           limits=proto.Limits(timeout_s=20, memory_bytes=512 << 20))
        try:
            res = self.run(probe, _probe=True)
        except (OSError, SandboxError) as exc:
            raise SandboxUnavailable(f"bubblewrap does not work here ({exc}); user namespaces may be "
                                     "disabled: `sysctl -w kernel.unprivileged_userns_clone=1`") from None
        if res.exit_code != 0:
            raise SandboxUnavailable("bubblewrap sandbox cannot import heldout.challenges: "
                                     f"{res.stderr.strip()[-300:]}")
        self._checked = True

    # -- command line -------------------------------------------------------
    def _argv(self, request: RunRequest, data_fds: list[int]) -> list[str]:
        lim = request.limits
        assert self.bwrap is not None  # check() refuses to run without it
        a = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
             "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL",
             "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "sandbox",
             "--clearenv", "--setenv", "PATH", self._path_env(), "--setenv", "LANG", "C.UTF-8",
             "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            p = Path("/") / name
            if p.is_symlink():
                a += ["--symlink", os.readlink(p), f"/{name}"]
            elif p.is_dir():
                a += ["--ro-bind", str(p), f"/{name}"]
        for etc in ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/nsswitch.conf"):
            if os.path.exists(etc):
                a += ["--ro-bind", etc, etc]
        for content, dest in ((_PASSWD, "/etc/passwd"), (_GROUP, "/etc/group"), (_HOSTS, "/etc/hosts")):
            r, w = os.pipe()
            os.write(w, content.encode())
            os.close(w)
            data_fds.append(r)
            a += ["--ro-bind-data", str(r), dest]
        # The tmpfs mounts come before the binds: a Python prefix or package that lives under /tmp
        # (a checkout in a temporary directory) must stay visible on top of the sandbox's own /tmp.
        a += ["--proc", "/proc", "--dev", "/dev",
              "--perms", "1777", "--size", str(min(lim.tmpfs_bytes, 64 << 20)), "--tmpfs", "/dev/shm",
              "--perms", "1777", "--size", str(lim.tmpfs_bytes), "--tmpfs", "/tmp"]
        for p in self.python_prefixes:
            if not (str(p) == "/usr" or str(p).startswith("/usr/")):
                a += ["--ro-bind", str(p), str(p)]
        pkg = self.package_dir
        a += ["--ro-bind", str(pkg / "__init__.py"), "/opt/heldout/heldout/__init__.py",
              "--ro-bind", str(pkg / "challenges"), "/opt/heldout/heldout/challenges"]
        for m in request.mounts:
            a += ["--ro-bind" if m.read_only else "--bind", str(Path(m.source).resolve()), m.target]
        a += ["--perms", "1777", "--size", str(lim.output_bytes), "--tmpfs", proto.OUTPUT_TARGET,
              "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/"]
        a += ["--", str(Path(self.python_prefixes[-1]) / "bin" / "python3"), "-I", "-S", "-c",
              proto.supervisor_source()]
        return a

    def _path_env(self) -> str:
        bins = [str(p / "bin") for p in reversed(self.python_prefixes)]
        return ":".join(bins + ["/usr/local/bin", "/usr/bin", "/bin"])

    def supervisor_request(self, request: RunRequest) -> bytes:
        lim = request.limits
        env = proto.child_env(request, {"PATH": self._path_env()})
        rlimits = {"as": lim.memory_bytes, "fsize": lim.file_size_bytes, "nofile": lim.open_files,
                   "core": 0, "cpu": int(math.ceil(lim.timeout_s)) + 1}
        if os.geteuid() != 0:
            rlimits["nproc"] = lim.pids
        return proto.request_line(request, env=env, writable=["/tmp", proto.OUTPUT_TARGET, "/dev/shm"],
                                  cgroup=False, rlimits=rlimits)

    # -- run ------------------------------------------------------------------
    def run(self, request: RunRequest, *, _probe: bool = False) -> RunResult:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap not installed: `apt-get install -y bubblewrap`")
        proto.validate_request(request)
        lim = request.limits
        data_fds: list[int] = []
        t0 = time.monotonic()
        try:
            argv = self._argv(request, data_fds)
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, pass_fds=data_fds, start_new_session=True,
                                    env={"PATH": "/usr/bin:/bin"}, cwd="/")
        finally:
            for fd in data_fds:
                os.close(fd)
        parser = proto.StreamParser(lim, request.output_dir)
        diag = bytearray()
        host_timeout = False
        protocol_error = None
        sel = selectors.DefaultSelector()
        try:
            assert proc.stdin and proc.stdout and proc.stderr
            proc.stdin.write(self.supervisor_request(request))
            proc.stdin.flush()
            deadline = time.monotonic() + lim.timeout_s + GRACE_S
            for f in (proc.stdout, proc.stderr):
                os.set_blocking(f.fileno(), False)
                sel.register(f, selectors.EVENT_READ)
            open_streams = 2
            while open_streams and not parser.done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    host_timeout = True
                    break
                for key, _ in sel.select(remaining):
                    data = os.read(key.fd, 1 << 16)
                    if not data:
                        sel.unregister(key.fileobj)
                        open_streams -= 1
                    elif key.fileobj is proc.stdout:
                        had_header = parser.header is not None
                        parser.feed(data)
                        if not had_header and parser.header is not None:
                            deadline = time.monotonic() + GRACE_S + lim.output_bytes / (50 << 20)
                    elif len(diag) < DIAG_CAP:
                        diag += data[: DIAG_CAP - len(diag)]
        except proto.ProtocolError as exc:
            protocol_error = exc
        except BrokenPipeError:
            pass
        finally:
            sel.close()
            parser.close()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap's --die-with-parent takes the sandbox along
            except ProcessLookupError:
                pass
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
            proc.wait()
        total = time.monotonic() - t0
        if parser.header is not None and protocol_error is None:
            res = proto.result_from_header(parser.header, lim, backend=self.name, memory_by_rlimit=True,
                                           parser=parser)
            if not parser.done:
                res.output_truncated = True
            res.overhead_s = max(0.0, total - res.duration_s)
            return res
        text = bytes(diag).decode("utf-8", "replace")
        if host_timeout:
            return RunResult(exit_code=None, stdout="", stderr=text, duration_s=total, timed_out=True,
                             limit_hit="time", message=describe_limit("time", lim), backend=self.name)
        raise SandboxError(f"bubblewrap sandbox failed (bwrap exit {proc.returncode}, "
                           f"{protocol_error or 'no result'}): {text[-2000:]}")
