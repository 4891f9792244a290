"""The warm scorer's server: runs *inside* a long-lived scorer container as PID 1.

Passed to ``python3 -c`` by ``warm.py``, after ``_in_sandbox.py`` (never imported on the host).
It imports Heldout's scorer once, says ``{"ready": true}``, then serves one
JSON line per submission on stdin: it forks a **child** with its own resource
limits (address space, CPU time, file size, open files, no core), its own
directory on the container's tmpfs and a wall-clock limit; the child runs
exactly what ``python -m heldout.challenges score`` runs and writes its result
file there (each solution is read once, by the server, and inherited by the children: see
``heldout.challenges.solution_cache``); the server answers one JSON line on stdout, shaped like the
supervisor's header (so the host reads it with the same code), plus the result
file. Whatever the child does (crash, MemoryError, hang), only its own
submission fails: it is killed, its directory removed, and the next request
gets a new child. The server never reads a submission itself. EOF on stdin: the
worker went away; the server kills the child and exits.

Only participants' *files* reach this process, never their code (code
submissions and policies keep fresh single-use containers).
"""

import base64
import json
import os
import select
import shutil
import signal
import sys
import time

RESULT_MAX = 1 << 20
# Defined by _in_sandbox.py, whose source comes first in the text python3 -c runs (_protocol.in_sandbox_source).
nondumpable, cgroup_counters = _nondumpable, _cgroup_counters  # type: ignore[name-defined]  # noqa: F821
# Each child's directory goes here: the container's own tmpfs, or the directory named by the first argument
# (a test runs the server outside a container: python3 -c SOURCE DIRECTORY).
WORK_ROOT = sys.argv[1] if len(sys.argv) > 1 else "/tmp"


def _vm_size():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _capture(path, cap):
    """The supervisor's head + tail capture of a file the child wrote."""
    half = max(cap // 2, 1)
    try:
        with open(path, "rb") as f:
            total = os.fstat(f.fileno()).st_size
            head = f.read(half)
            tail = b""
            if total > half:
                f.seek(max(half, total - half))
                tail = f.read(half)
    except OSError:
        return {"head": "", "tail": "", "total": 0}
    return {"head": base64.b64encode(head).decode(), "tail": base64.b64encode(tail).decode(), "total": total}


def _read_result(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        raw = os.read(fd, RESULT_MAX + 1)
    finally:
        os.close(fd)
    if len(raw) > RESULT_MAX:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _child(req, workdir, score_main, base_vm, solution_reader):
    """In the forked child: limits, its own directory, then the scorer's own entry point. Never returns."""
    code = 1
    try:
        import resource

        os.setsid()
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        # The child's memory budget comes on top of what it shares with the server (the imports).
        memory = base_vm + int(req["memory"])
        cpu = int(float(req["timeout"])) + 1
        for res, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu),
                           (resource.RLIMIT_FSIZE, int(req["fsize"])), (resource.RLIMIT_NOFILE, int(req["nofile"])),
                           (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(res, (value, value))
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the child, never the server, is what the kernel kills first
        except OSError:
            pass
        os.chdir(workdir)
        import tempfile

        tempfile.tempdir = workdir  # anything the scorer spills goes to the child's own directory
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(os.path.join(workdir, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(os.path.join(workdir, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdout = os.fdopen(1, "w", closefd=False)
        sys.stderr = os.fdopen(2, "w", closefd=False)
        spec_path = os.path.join(workdir, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(req["spec"], f)
        code = score_main(["score", "--spec", spec_path, "--submission", req["submission"],
                           "--solution", req["solution"], "--out", os.path.join(workdir, "score.json")],
                          solution_reader=solution_reader)
        sys.stdout.flush()
        sys.stderr.flush()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported by the exit status
        code = 1
    os._exit(code)


def _wait(pid, timeout, stdin_fd):
    """(status, rusage, timed_out, aborted): the child's end, or why we stopped waiting."""
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            got, status, ru = os.wait4(pid, os.WNOHANG)
            if got == pid:
                return status, ru, False, False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None, True, False
            watch = [stdin_fd] + ([pidfd] if pidfd is not None else [])
            ready, _, _ = select.select(watch, [], [], min(remaining, 0.01 if pidfd is None else remaining))
            if stdin_fd in ready and not os.read(stdin_fd, 1):
                return None, None, False, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _rehearse(score_main):
    """Score one tiny gzip-compressed file here, before any child: what the scorer imports on first use (NumPy's
    random and masked arrays, gzip, ...) is then inherited by every child instead of imported by each (~30 ms)."""
    import contextlib
    import gzip

    workdir = os.path.join(WORK_ROOT, "rehearsal")
    os.mkdir(workdir, 0o700)
    try:
        paths = {name: os.path.join(workdir, name) for name in ("spec.json", "solution.csv", "submission.csv.gz")}
        with open(paths["spec.json"], "w") as f:
            json.dump({"metric": "rmse", "id_dtype": "int", "target_columns": ["y"]}, f)
        with open(paths["solution.csv"], "w") as f:
            f.write("id,y,Usage\n1,1.0,Public\n2,2.0,Private\n3,3.0,Public\n4,4.0,Private\n")
        with open(paths["submission.csv.gz"], "wb") as f:
            f.write(gzip.compress(b"id,y\n1,1.5\n2,2.0\n3,3.0\n4,4.5\n"))
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the worker's channel
            return score_main(["score", "--spec", paths["spec.json"], "--submission", paths["submission.csv.gz"],
                               "--solution", paths["solution.csv"], "--out", os.path.join(workdir, "score.json")])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def serve(score_main, import_s, solutions):
    out = sys.stdout.buffer
    stdin_fd = sys.stdin.fileno()
    hidden = nondumpable()
    started = time.perf_counter()
    rehearsed = _rehearse(score_main)
    out.write((json.dumps({"ready": True, "import_s": round(import_s, 6), "nondumpable": hidden,
                           "rehearsal": {"exit": rehearsed, "s": round(time.perf_counter() - started, 6)}})
               + "\n").encode())
    out.flush()
    n = 0
    buf = b""
    while True:
        while b"\n" not in buf:
            data = os.read(stdin_fd, 1 << 16)
            if not data:
                return 0  # the worker went away (or recycles us)
            buf += data
        line, buf = buf.split(b"\n", 1)
        req = json.loads(line)
        n += 1
        workdir = os.path.join(WORK_ROOT, "c%d" % n)
        os.mkdir(workdir, 0o700)
        start = time.monotonic()
        # The solution, read here once and inherited by this and every later child for it (a file that does
        # not read is left to the child, which reports it as before). Counted in the submission's time.
        solutions.load(req["solution"], req["spec"])
        before = cgroup_counters()
        base_vm = _vm_size()  # what the child shares with the server, the solutions read so far included
        pid = os.fork()
        if pid == 0:
            _child(req, workdir, score_main, base_vm, solutions.reader_for(req["spec"]))
        status, ru, timed_out, aborted = _wait(pid, float(req["timeout"]), stdin_fd)
        end = time.monotonic()
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            _, status, ru = os.wait4(pid, 0)
        if aborted:
            return 4
        after = cgroup_counters()
        exit_code = sig = None
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            exit_code = 128 + sig
        cap = int(req.get("cap", 65536))
        header = {
            "v": 1, "exit": exit_code, "signal": sig, "timed_out": timed_out, "output_killed": False,
            "duration": round(end - start, 6), "boot": 0.0,
            "oom_kills": None if None in (before[0], after[0]) else after[0] - before[0],
            "pids_max_events": None if None in (before[1], after[1]) else after[1] - before[1],
            "peak_memory": None, "maxrss": ru.ru_maxrss * 1024 if ru is not None else None,
            "full": [], "nondumpable": hidden,
            "stdout": _capture(os.path.join(workdir, "stdout"), cap),
            "stderr": _capture(os.path.join(workdir, "stderr"), cap),
            "output": False,
        }
        payload = _read_result(os.path.join(workdir, "score.json"))
        shutil.rmtree(workdir, ignore_errors=True)
        out.write((json.dumps({"id": req.get("id"), "header": header, "payload": payload}) + "\n").encode())
        out.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _t0 = time.perf_counter()
    from heldout.challenges.__main__ import main as _score_main  # the scorer, imported once for every child
    from heldout.challenges.solution_cache import SolutionCache

    try:
        _code = serve(_score_main, time.perf_counter() - _t0, SolutionCache())
    except BrokenPipeError:
        _code = 5
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(_code or 0)
