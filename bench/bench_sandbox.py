"""Sandbox start-up latency: create + start + run + remove, per backend and Docker runtime.

    .venv/bin/python bench/bench_sandbox.py [--runs 20] [--backends docker,pool,bubblewrap] [--runtimes runc,runsc]

For each command, the wall time of ``sandbox.run()`` as the worker sees it
(p50/p95 over ``--runs``) and the command's own time inside the sandbox.
"pool" is a PrestartedPool of 2 whose containers are already running when a
request arrives (it waits for the refill between runs: the latency of a
worker that is not saturated). Each Docker backend runs once per runtime of
``--runtimes`` the daemon has registered (runc, and gVisor's runsc:
HELDOUT_SANDBOX_RUNTIME), and a last table sets runc and runsc side by side.
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
    ap.add_argument("--runtimes", default="runc,runsc", help="Docker runtimes to compare (those registered)")
    args = ap.parse_args()

    commands = [("python3 -c pass", ["python3", "-c", "pass"]),
                ("import numpy, pandas", ["python3", "-c", "import numpy, pandas"]),
                _entry_point_cmd(),
                # What a learner's predict.py does most: compute. gVisor taxes system calls, not arithmetic.
                ("numpy 1e7 sums", ["python3", "-c", "import numpy as np; x = np.arange(10**7, dtype=float); "
                                                     "[x.sum() for _ in range(20)]"])]
    limits = Limits(timeout_s=60, memory_bytes=1 << 30)
    inputs = Path(tempfile.mkdtemp(prefix="heldout-bench-"))
    (inputs / "spec.json").write_text('{"metric": "rmse"}')
    mounts = [Mount(inputs / "spec.json", "/input/spec.json")]

    backends = {}
    wanted = args.backends.split(",")
    pools = []
    if "docker" in wanted or "pool" in wanted:
        from heldout.runner.sandbox import SandboxUnavailable
        from heldout.runner.sandbox.docker_backend import DockerSandbox
        from heldout.runner.sandbox.pool import PrestartedPool

        for runtime in args.runtimes.split(","):
            docker_sb = DockerSandbox(runtime=None if runtime == "runc" else runtime)
            try:
                docker_sb.check()
            except SandboxUnavailable as exc:
                print(f"  skipping runtime {runtime}: {exc}", file=sys.stderr)
                continue
            if "docker" in wanted:
                backends[f"docker {runtime} (cold)"] = docker_sb
            if "pool" in wanted:
                pool = PrestartedPool(docker_sb, size=2, limits=limits)
                pools.append(pool)
                backends[f"docker {runtime} (pool of 2)"] = pool
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
                    if sb in pools:
                        sb.wait_ready(60)
                    out = Path(tempfile.mkdtemp(prefix="heldout-bench-out-"))
                    t0 = time.perf_counter()
                    res = sb.run(RunRequest(argv=argv, mounts=mounts, limits=limits, output_dir=out))
                    wall = time.perf_counter() - t0
                    if res.exit_code != 0:
                        print(f"{bname} {cname}: exit {res.exit_code} ({res.limit_hit or 'no limit'}): "
                              f"{res.stderr[-500:]}", file=sys.stderr)
                        return 1
                    if i:  # first run warms caches
                        walls.append(wall)
                        inside.append(res.duration_s)
                rows.append((bname, cname, statistics.median(walls), _pct(walls, 0.95), statistics.median(inside)))
                print(f"  {bname:20} {cname:40} p50 {rows[-1][2] * 1000:7.1f} ms", file=sys.stderr)
    finally:
        for pool in pools:
            pool.close()

    print(f"\nsandbox latency, {args.runs} runs each (wall = what sandbox.run() costs the worker)\n")
    print(f"| {'backend':20} | {'command':40} | {'wall p50':>9} | {'wall p95':>9} | {'in-sandbox p50':>14} |")
    print(f"|{'-' * 22}|{'-' * 42}|{'-' * 11}|{'-' * 11}|{'-' * 16}|")
    for bname, cname, p50, p95, ins in rows:
        print(f"| {bname:20} | {cname:40} | {p50 * 1000:6.1f} ms | {p95 * 1000:6.1f} ms | {ins * 1000:11.1f} ms |")
    _side_by_side(rows)
    return 0


def _side_by_side(rows: list) -> None:
    """runc and runsc (gVisor) next to each other, per Docker backend and command: wall p50 and in-sandbox p50."""
    by = {(bname, cname): (p50, ins) for bname, cname, p50, _p95, ins in rows}
    pairs = [(kind, cname) for bname, cname, *_ in rows if bname.startswith("docker runc ")
             for kind in [bname.removeprefix("docker runc ")] if (f"docker runsc {kind}", cname) in by]
    if not pairs:
        return
    print("\nrunc and runsc side by side (p50; ratio = runsc / runc)\n")
    print(f"| {'backend':12} | {'command':40} | {'runc wall':>9} | {'runsc wall':>10} | {'ratio':>5} "
          f"| {'runc inside':>11} | {'runsc inside':>12} |")
    print(f"|{'-' * 14}|{'-' * 42}|{'-' * 11}|{'-' * 12}|{'-' * 7}|{'-' * 13}|{'-' * 14}|")
    for kind, cname in pairs:
        runc_wall, runc_in = by[(f"docker runc {kind}", cname)]
        runsc_wall, runsc_in = by[(f"docker runsc {kind}", cname)]
        print(f"| {kind:12} | {cname:40} | {runc_wall * 1000:6.0f} ms | {runsc_wall * 1000:7.0f} ms "
              f"| {runsc_wall / runc_wall:5.1f} | {runc_in * 1000:8.0f} ms | {runsc_in * 1000:9.0f} ms |")


if __name__ == "__main__":
    sys.exit(main())
