"""Prediction scoring against its in-process floor: how much the sandbox adds, fresh or warm scorer.

    python bench/bench_warm.py [--rows 10000] [--runs 20] [--scorer fresh warm] [--burst 0] [--workers 2]

1. The floor: read + check + score + bootstrap of the same submission in this process (no sandbox),
   with the challenge's own stored spec and solution (best and median of --runs).
2. For each HELDOUT_SCORER mode: submit → scored, one at a time, p50 and p95 over --runs submissions to
   one real worker (PostgreSQL, Redis, the Docker sandbox; bench_throughput's harness), and the ratio
   of the p50 to the floor. With --burst N: N submitted at once to --workers workers, throughput.
Needs what bench_throughput.py needs (PostgreSQL, Redis, --redis db flushed, Docker and the sandbox image).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_throughput  # noqa: E402
from bench_throughput import Bench, latency  # noqa: E402
from timing import pct  # noqa: E402

from sqlalchemy import select  # noqa: E402

from heldout.challenges.scoring import score_submission  # noqa: E402
from heldout.challenges.spec import ScoringSpec  # noqa: E402
from heldout.challenges.validation import read_solution, read_submission  # noqa: E402
from heldout.models import Challenge, Submission  # noqa: E402

SLUG = "bench-predictions"


def floor_s(bench: Bench, runs: int) -> tuple[float, float]:
    """(best, median) seconds of reading, checking and scoring one submission in process."""
    sid = bench.submit(SLUG, bench.predictions, "p.csv")
    with bench.sessions() as s:
        challenge = s.scalars(select(Challenge).where(Challenge.slug == SLUG)).one()
        spec_dict, solution_key = dict(challenge.scoring_spec), challenge.solution_key
        file_key = s.get(Submission, sid).file_key
    solution_path, submission_path = bench.storage.local_file(solution_key), bench.storage.local_file(file_key)

    def once() -> None:
        spec = ScoringSpec.from_dict(spec_dict)
        solution = read_solution(solution_path, spec)
        submission = read_submission(submission_path, spec, solution.ids)
        score_submission(submission, solution, spec)

    once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def one_at_a_time(bench: Bench, runs: int) -> list[float]:
    bench.wait([bench.submit(SLUG, bench.predictions, "p.csv")])  # warm the worker (first claim, imports)
    out = []
    for _ in range(runs):
        sid = bench.submit(SLUG, bench.predictions, "p.csv")
        out += latency(bench.wait([sid]))
    return out


def burst(bench: Bench, n: int) -> float:
    start = time.monotonic()
    bench.wait([bench.submit(SLUG, bench.predictions, "p.csv") for _ in range(n)])
    return n / (time.monotonic() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scorer", nargs="+", default=["fresh", "warm"], choices=["fresh", "warm"])
    parser.add_argument("--pool", type=int, default=2, help="HELDOUT_SANDBOX_POOL_SIZE of the workers")
    parser.add_argument("--burst", type=int, default=0, help="also submit this many at once (throughput)")
    parser.add_argument("--workers", type=int, default=2, help="workers for the burst")
    parser.add_argument("--redis", default=bench_throughput.REDIS, help="a Redis database the bench may flush")
    args = parser.parse_args(argv)
    bench_throughput.REDIS = args.redis
    bench = Bench(args.rows, code=False)
    try:
        best, median = floor_s(bench, args.runs)
        print(f"{args.rows:,}-row predictions; in-process floor (read + check + score + bootstrap): "
              f"best {best:.4f} s, median {median:.4f} s")
        print(f"{'scorer':<8}{'p50 s':>8}{'p95 s':>8}{'p50/floor':>11}{'burst':>7}{'workers':>8}{'per s':>8}")
        for mode in args.scorer:
            bench.env["HELDOUT_SCORER"] = mode
            procs = bench.start_workers(1, args.pool)
            try:
                lat = one_at_a_time(bench, args.runs)
            finally:
                bench.stop(procs)
            rate = ""
            if args.burst:
                procs = bench.start_workers(args.workers, args.pool)
                try:
                    rate = f"{burst(bench, args.burst):8.2f}"
                finally:
                    bench.stop(procs)
            p50 = pct(lat, 0.5)
            print(f"{mode:<8}{p50:>8.3f}{pct(lat, 0.95):>8.3f}{p50 / median:>10.1f}x"
                  f"{args.burst or '-':>7}{args.workers if args.burst else '-':>8}{rate or '-':>8}", flush=True)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
