"""What the two programs Heldout runs as PID 1 inside a sandbox share: the supervisor (``_supervisor.py``) and the
warm scorer's server (``_warm_server.py``).

Neither imports this file: each is passed to ``python3 -c`` as one text with this file's source in front
(``_protocol.in_sandbox_source``). So, like them, it uses the standard library only and runs on Python 3.9+.
"""

import os


def _nondumpable():
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:  # noqa: BLE001  # pragma: no cover - best effort, reported by the caller
        return False
    return True


def _read_int(path, key=None):
    try:
        with open(path) as f:
            if key is None:
                return int(f.read().split()[0])
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0] == key:
                    return int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_counters():
    """(oom_kills, pids_max_events, peak_memory) of our own cgroup, v1 or v2."""
    v1 = "/sys/fs/cgroup/memory/memory.oom_control"
    if os.path.exists(v1):
        return (_read_int(v1, "oom_kill"),
                _read_int("/sys/fs/cgroup/pids/pids.events", "max"),
                _read_int("/sys/fs/cgroup/memory/memory.max_usage_in_bytes"))
    return (_read_int("/sys/fs/cgroup/memory.events", "oom_kill"),
            _read_int("/sys/fs/cgroup/pids.events", "max"),
            _read_int("/sys/fs/cgroup/memory.peak"))
