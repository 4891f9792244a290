"""One large prediction file, submitted over the JSON API and scored by a real worker: how long, and how much memory.

    python bench/bench_large_submission.py [--rows 1000000] [--runs 3] [--scorer warm fresh]

A regression challenge (RMSE, half the rows public) with ``--rows`` test rows; the perfect submission
(~``--rows`` × 20 bytes) is POSTed to ``/api/v1/challenges/<slug>/submissions`` with an API token, and the
client polls ``/api/v1/submissions/<id>`` until it is scored, as ``heldout submit --wait`` does. The web app
is ``heldout serve`` (gunicorn, one process) and one ``heldout worker``, on PostgreSQL, Redis and the Docker
sandbox (bench_throughput's harness).

It prints, per scorer mode and run: submit → scored as the client sees it (the POST's start to the poll that
sees "scored"), the POST alone, and from the database: the queue wait and the sandbox run; and peak memory:
the scorer's (its child's maximum resident set, as stored on the submission), the worker process's and the web
process's (VmHWM). Next to it, the in-process floor: read + check + score + bootstrap of the same files in this
process, with its peak resident memory.
Needs what bench_throughput.py needs (PostgreSQL, Redis, --redis db flushed, Docker and the sandbox image).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_throughput  # noqa: E402
from bench_throughput import Bench  # noqa: E402
from bench_warm import SLUG, floor_s  # noqa: E402
from tests.s3_server import free_port  # noqa: E402

from heldout.db import session_scope  # noqa: E402
from heldout.models import Submission, User  # noqa: E402
from heldout.platform.services.accounts import create_token  # noqa: E402

MB = 1 << 20


def peak_rss_bytes(pid: int) -> int | None:
    """VmHWM of a live process: the most resident memory it has held."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def tree_peak_rss_bytes(pid: int) -> int | None:
    """The largest VmHWM in a process and its children (gunicorn's master and its worker)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    peaks = [p for p in (peak_rss_bytes(p) for p in pids) if p is not None]
    return max(peaks) if peaks else None


def start_web(bench: Bench, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "heldout.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], env=bench.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/challenges", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the web app did not answer within 60 s")


def submit_and_wait(base: str, token: str, content: bytes, timeout_s: float = 600) -> tuple[float, float, int]:
    """(submit → scored, the POST alone, the submission's id), as ``heldout submit --wait`` sees them."""
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    response = requests.post(f"{base}/api/v1/challenges/{SLUG}/submissions", headers=headers,
                             files={"file": ("predictions.csv", content, "text/csv")}, timeout=120)
    posted = time.perf_counter() - start
    if response.status_code != 202:
        raise SystemExit(f"the upload was refused: {response.status_code} {response.text[:500]}")
    sid = response.json()["id"]
    deadline = time.monotonic() + timeout_s
    with requests.Session() as session:
        while time.monotonic() < deadline:
            status = session.get(f"{base}/api/v1/submissions/{sid}", headers=headers, timeout=30).json()["status"]
            if status == "scored":
                return time.perf_counter() - start, posted, sid
            if status not in ("queued", "running"):
                raise SystemExit(f"submission {sid} ended {status}")
            time.sleep(0.01)
    raise SystemExit(f"submission {sid} was not scored within {timeout_s:.0f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scorer", nargs="+", default=["warm", "fresh"], choices=["fresh", "warm"])
    parser.add_argument("--redis", default=bench_throughput.REDIS, help="a Redis database the bench may flush")
    args = parser.parse_args(argv)
    bench_throughput.REDIS = args.redis
    bench = Bench(args.rows, code=False)
    try:
        with session_scope(bench.sessions) as s:
            token = create_token(s, s.get(User, bench.user_id), "bench")
        content = bench.predictions
        best, median = floor_s(bench, args.runs)
        floor_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"{args.rows:,}-row regression predictions ({len(content) / MB:.1f} MiB); in-process floor (read + check "
              f"+ score + bootstrap): best {best:.3f} s, median {median:.3f} s, this process's peak RSS "
              f"{floor_peak / MB:.0f} MiB")
        print(f"{'scorer':<7}{'run':>4}{'submit→scored s':>17}{'/floor':>8}{'POST s':>8}{'queue s':>8}{'sandbox s':>10}"
              f"{'scorer MiB':>11}{'worker MiB':>11}{'web MiB':>9}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        for mode in args.scorer:
            bench.env["HELDOUT_SCORER"] = mode
            web = start_web(bench, port)
            procs = bench.start_workers(1, 0)
            try:
                # The first file warms the worker (its first claim, the warm scorer's start), as at any site.
                submit_and_wait(base, token, content)
                for run in range(1, args.runs + 1):
                    total, posted, sid = submit_and_wait(base, token, content)
                    with bench.sessions() as s:
                        row = s.get(Submission, sid)
                        queue_s, run_s, scorer_peak = row.queue_wait_s, row.run_s, row.peak_memory_bytes
                    worker_peak, web_peak = peak_rss_bytes(procs[0].pid), tree_peak_rss_bytes(web.pid)
                    print(f"{mode:<7}{run:>4}{total:>17.3f}{total / median:>7.1f}x{posted:>8.3f}"
                          f"{(queue_s or 0):>8.3f}{(run_s or 0):>10.3f}"
                          f"{(scorer_peak or 0) / MB:>11.0f}{(worker_peak or 0) / MB:>11.0f}"
                          f"{(web_peak or 0) / MB:>9.0f}", flush=True)
            finally:
                bench.stop(procs)
                os.killpg(web.pid, signal.SIGTERM)
                web.wait(timeout=60)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
