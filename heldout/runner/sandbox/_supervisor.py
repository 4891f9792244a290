"""In-sandbox supervisor: runs *inside* the container (or bwrap) as PID 1.

This file is passed to ``python3 -I -S -c`` by the backends (after ``_in_sandbox.py``), so it
must only use the standard library, stay importable on Python 3.9+, and not
import anything from ``heldout``. It is trusted code running beside untrusted
code, under the same uid, so:

* it makes itself non-dumpable, which hides ``/proc/1/fd`` and ``/proc/1/mem``
  from the child: the child cannot write into the result channel (our stdout);
* it is PID 1 of its own PID namespace, so the child cannot kill it (signals
  without a handler sent to a namespace's init from inside are dropped);
* the child's stdout/stderr are pipes read here, capped (head + tail), so a
  child printing gigabytes never reaches the host;
* /output is a size-capped tmpfs; after the run its regular files are streamed
  to the host in a simple length-prefixed framing (no tar on either side).

Protocol. stdin: one JSON line (the request). stdout: one JSON line (the
result header), then, if the request named an output directory, a sequence of
``{"path": str, "size": int}\\n`` + ``size`` raw bytes, closed by
``{"end": true, ...}\\n``. EOF on stdin while the child runs means the host has
gone away: everything is killed and the supervisor exits.
"""

import base64
import json
import os
import select
import signal
import stat
import sys
import time

CHUNK = 65536
# Defined by _in_sandbox.py, whose source comes first in the text python3 -c runs (_protocol.in_sandbox_source).
nondumpable, cgroup_counters = _nondumpable, _cgroup_counters  # type: ignore[name-defined]  # noqa: F821


class Capture:
    """Keeps the first and the last ``cap // 2`` bytes of a stream."""

    def __init__(self, cap):
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data):
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:
                del self.tail[: len(self.tail) - self.half]

    def dump(self):
        tail = bytes(self.tail[-self.half:])
        return {"head": base64.b64encode(bytes(self.head)).decode(),
                "tail": base64.b64encode(tail).decode(),
                "total": self.total}


def _spawn(req, out_w, err_w, errpipe_w):
    pid = os.fork()
    if pid:
        return pid
    # Child: never return from here.
    try:
        os.setsid()
        for name, value in (req.get("rlimits") or {}).items():
            import resource

            res = getattr(resource, "RLIMIT_" + name.upper())
            value = int(value)
            _soft, hard = resource.getrlimit(res)
            if hard != resource.RLIM_INFINITY and value > hard:
                value = hard
            resource.setrlimit(res, (value, value))
        adj = req.get("oom_score_adj")
        if adj is not None:
            try:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write(str(int(adj)))
            except OSError:
                pass
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, errpipe_w)
        os.closerange(errpipe_w + 1, 65536)
        os.chdir(req.get("cwd") or "/tmp")
        os.execvpe(req["argv"][0], req["argv"], req.get("env") or {})
    except BaseException as exc:  # noqa: BLE001 - report exec failures to the parent
        try:
            msg = "%s: %s" % (type(exc).__name__, exc)
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            os.write(errpipe_w, ("%d %s" % (code, msg)).encode("utf-8", "replace")[:4000])
        finally:
            os._exit(127)
    os._exit(127)


def _kill_everything(pgid):
    if os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of our PID namespace but us
        except OSError:
            pass
    else:  # not an init: never kill(-1) outside a namespace (it would hit the host uid's processes)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def _reap_all(main_pid, status_box):
    while True:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return
        if pid == main_pid and status_box.get("status") is None:
            status_box["status"] = status
            status_box["maxrss"] = ru.ru_maxrss * 1024
            status_box["end"] = time.monotonic()


def _full(path):
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 16384 or (st.f_files and st.f_favail == 0)


def _emit_output_dir(root, max_bytes, max_files, out):
    """Stream the regular files under ``root`` (no symlinks followed) as frames."""
    sent = files = 0
    skipped = []
    truncated = False
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(os.path.join(root, rel_dir) if rel_dir else root), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(rel)
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(rel)
                continue
            if files >= max_files or sent + st.st_size > max_bytes:
                truncated = True
                continue
            try:
                fd = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                size = os.fstat(fd).st_size
                if sent + size > max_bytes:
                    truncated = True
                    continue
                out.write((json.dumps({"path": rel, "size": size}) + "\n").encode())
                left = size
                while left > 0:
                    data = os.read(fd, min(CHUNK, left))
                    if not data:  # shrank meanwhile: pad so the frame stays well-formed
                        data = b"\0" * min(CHUNK, left)
                    out.write(data)
                    left -= len(data)
                sent += size
                files += 1
            finally:
                os.close(fd)
    out.write((json.dumps({"end": True, "files": files, "bytes": sent, "truncated": truncated,
                           "skipped": skipped[:20]}) + "\n").encode())


def main():
    t_boot = time.monotonic()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    hidden = nondumpable()
    out = sys.stdout.buffer
    line = sys.stdin.buffer.readline(4 << 20)
    if not line.strip():
        return 3  # the host went away before sending a request (e.g. pool shutdown)
    req = json.loads(line)
    t_req = time.monotonic()
    cap = int(req.get("cap", 65536))
    kill_total = int(req.get("kill_total", 1 << 28))
    timeout = float(req.get("timeout", 60))
    use_cgroup = bool(req.get("cgroup"))
    before = cgroup_counters() if use_cgroup else (None, None, None)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    errpipe_r, errpipe_w = os.pipe()
    os.set_inheritable(errpipe_w, False)
    start = time.monotonic()
    pid = _spawn(req, out_w, err_w, errpipe_w)
    os.close(out_w)
    os.close(err_w)
    os.close(errpipe_w)
    exec_error = os.read(errpipe_r, 8192)
    os.close(errpipe_r)

    caps = {out_r: Capture(cap), err_r: Capture(cap)}
    status_box = {"status": None}
    stdin_fd = sys.stdin.fileno()
    watch = [out_r, err_r, wake_r, stdin_fd]
    deadline = start + timeout
    timed_out = aborted = output_killed = False
    while True:
        _reap_all(pid, status_box)
        if status_box["status"] is not None:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        try:
            ready, _, _ = select.select(watch, [], [], remaining)
        except InterruptedError:
            continue
        for fd in ready:
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            elif fd == stdin_fd:
                if not os.read(stdin_fd, 4096):
                    aborted = True
            else:
                data = os.read(fd, CHUNK)
                if data:
                    caps[fd].add(data)
                else:
                    watch.remove(fd)
        if aborted:
            break
        if caps[out_r].total + caps[err_r].total > kill_total:
            output_killed = True
            break
    end = status_box.get("end") or time.monotonic()
    # Whatever happened, nothing the child started survives its main process:
    # /output is stable while it is streamed and no stray process keeps running.
    _kill_everything(pid)
    for fd in (out_r, err_r):
        if fd in watch:
            os.set_blocking(fd, False)
            drain_deadline = time.monotonic() + 1.0
            while time.monotonic() < drain_deadline:
                try:
                    data = os.read(fd, CHUNK)
                except BlockingIOError:
                    r, _, _ = select.select([fd], [], [], 0.05)
                    if not r and status_box["status"] is not None:
                        break
                    continue
                if not data:
                    break
                if caps[fd].total < kill_total:
                    caps[fd].add(data)
        os.close(fd)
    t_wait = time.monotonic() + 2.0
    while status_box["status"] is None and time.monotonic() < t_wait:
        _reap_all(pid, status_box)
        if status_box["status"] is None:
            time.sleep(0.005)
    _reap_all(pid, status_box)
    if aborted:
        return 4

    after = cgroup_counters() if use_cgroup else (None, None, None)
    status = status_box["status"]
    exit_code = sig = None
    if status is not None:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            exit_code = 128 + sig
    if exec_error:
        code, _, msg = exec_error.decode("utf-8", "replace").partition(" ")
        exit_code = int(code) if code.isdigit() else 127
        caps[err_r].add(("sandbox: cannot execute %r: %s\n" % (req["argv"][0], msg)).encode())

    def delta(i):
        if before[i] is None or after[i] is None:
            return None
        return after[i] - before[i]

    full = [p for p in (req.get("writable") or []) if _full(p)]
    header = {
        "v": 1,
        "exit": exit_code,
        "signal": sig,
        "timed_out": timed_out,
        "output_killed": output_killed,
        "duration": round(end - start, 6),
        "boot": round(t_req - t_boot, 6),
        "oom_kills": delta(0),
        "pids_max_events": delta(1),
        "peak_memory": after[2],
        "maxrss": status_box.get("maxrss"),
        "full": full,
        "nondumpable": hidden,
        "stdout": caps[out_r].dump(),
        "stderr": caps[err_r].dump(),
        "output": bool(req.get("output_dir")),
    }
    out.write((json.dumps(header) + "\n").encode())
    if req.get("output_dir"):
        _emit_output_dir(req["output_dir"], int(req.get("output_max", 64 << 20)),
                         int(req.get("output_max_files", 10000)), out)
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except BrokenPipeError:
        code = 5
    except Exception as exc:  # noqa: BLE001 - the host reads stderr for this
        sys.stderr.write("supervisor error: %s: %s\n" % (type(exc).__name__, exc))
        code = 6
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(code)
