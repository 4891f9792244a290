"""Sandbox start-up latency: create + start + run + remove, per backend.

    .venv/bin/python bench/bench_sandbox.py [--runs 20] [--backends docker,pool,bubblewrap]

For each command, the wall time of ``sandbox.run()`` as the worker sees it
(p50/p95 over ``--runs``) and the command's own time inside the sandbox.
"pool" is a PrestartedPool of 2 whose containers are already running when a
request arrives (it waits for the refill between runs: the latency of a
worker that is not saturated).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from heldout.runner.sandbox import Limits, Mount, RunRequest
import heldout


def _entry_point_cmd() -> tuple[str, list[str]]:
    pkg = Path(heldout.__file__).parent / "challenges"
    if (pkg / "__main__.py").exists():
        return "python3 -m heldout.challenges --help", ["python3", "-m", "heldout.challenges", "--help"]
    return ("import heldout.challenges.metrics+spec",
            ["python3", "-c", "import heldout.challenges.metrics, heldout.challenges.spec"])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--backends", default="docker,pool,bubblewrap")
    args = ap.parse_args()

    commands = [("python3 -c pass", ["python3", "-c", "pass"]),
                ("import numpy, pandas", ["python3", "-c", "import numpy, pandas"]),
                _entry_point_cmd()]
    limits = Limits(timeout_s=60, memory_bytes=1 << 30)
    inputs = Path(tempfile.mkdtemp(prefix="heldout-bench-"))
    (inputs / "spec.json").write_text('{"metric": "rmse"}')
    mounts = [Mount(inputs / "spec.json", "/input/spec.json")]

    backends = {}
    wanted = args.backends.split(",")
    pool = None
    if "docker" in wanted or "pool" in wanted:
        from heldout.runner.sandbox.docker_backend import DockerSandbox

        docker_sb = DockerSandbox()
        docker_sb.check()
        if "docker" in wanted:
            backends["docker (cold)"] = docker_sb
        if "pool" in wanted:
            from heldout.runner.sandbox.pool import PrestartedPool

            pool = PrestartedPool(docker_sb, size=2, limits=limits)
            backends["docker (pool of 2)"] = pool
    if "bubblewrap" in wanted:
        from heldout.runner.sandbox.bubblewrap_backend import BubblewrapSandbox

        bw = BubblewrapSandbox()
        bw.check()
        backends["bubblewrap"] = bw

    rows = []
    try:
        for bname, sb in backends.items():
            for cname, argv in commands:
                walls, inside = [], []
                for i in range(args.runs + 1):
                    if pool is not None and sb is pool:
                        pool.wait_ready(60)
                    out = Path(tempfile.mkdtemp(prefix="heldout-bench-out-"))
                    t0 = time.perf_counter()
                    res = sb.run(RunRequest(argv=argv, mounts=mounts, limits=limits, output_dir=out))
                    wall = time.perf_counter() - t0
                    if res.exit_code != 0:
                        print(f"{bname} {cname}: exit {res.exit_code}: {res.stderr[-500:]}", file=sys.stderr)
                        return 1
                    if i:  # first run warms caches
                        walls.append(wall)
                        inside.append(res.duration_s)
                rows.append((bname, cname, statistics.median(walls), _pct(walls, 0.95), statistics.median(inside)))
                print(f"  {bname:20} {cname:40} p50 {rows[-1][2] * 1000:7.1f} ms", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()

    print(f"\nsandbox latency, {args.runs} runs each (wall = what sandbox.run() costs the worker)\n")
    print(f"| {'backend':20} | {'command':40} | {'wall p50':>9} | {'wall p95':>9} | {'in-sandbox p50':>14} |")
    print(f"|{'-' * 22}|{'-' * 42}|{'-' * 11}|{'-' * 11}|{'-' * 16}|")
    for bname, cname, p50, p95, ins in rows:
        print(f"| {bname:20} | {cname:40} | {p50 * 1000:6.1f} ms | {p95 * 1000:6.1f} ms | {ins * 1000:11.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
