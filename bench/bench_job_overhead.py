"""The worker's own cost per prediction job, with scoring itself taken away: database round trips, RQ's
bookkeeping, the lease thread, the leaderboard row.

    python bench/bench_job_overhead.py [--jobs 300] [--redis redis://127.0.0.1:6379/13]

The job runs as a worker runs it (``heldout.runner.jobs.score_submission``, PostgreSQL, Redis), with a scorer
that answers at once with a canned score, so what is left is the worker's overhead. Two ways:

1. the job function called directly for each submission (no RQ): the job's own database work;
2. an RQ ``SimpleWorker`` in burst mode working the same number of enqueued jobs: the above plus RQ.

For each it prints the time per job, SQL statements and Redis round trips per job, and where the job's time
goes (claim, the run, recording the outcome with the team's board row). Needs PostgreSQL and Redis as
bench_throughput.py does (its harness), not Docker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_throughput  # noqa: E402
from bench_throughput import Bench  # noqa: E402
from redis.connection import Connection  # noqa: E402
from rq import SimpleWorker  # noqa: E402
from sqlalchemy import event  # noqa: E402

from heldout.runner import jobs  # noqa: E402
from heldout.runner.context import RunnerContext, configure  # noqa: E402
from heldout.runner.sandbox.base import RunResult  # noqa: E402
from heldout.runner.sandbox.warm import WarmScore  # noqa: E402

SLUG = "bench-predictions"
PAYLOAD = {"ok": True, "public_score": 0.5, "private_score": 0.6, "public_ci": [0.4, 0.6], "private_ci": [0.5, 0.7],
           "public_rows": 5000, "private_rows": 5000, "ci_resamples": 1000, "diagnostics": None, "timings": {}}


class InstantScorer:
    """A warm scorer that answers at once: the job's overhead is all that is left to time."""

    def score(self, files, limits):  # noqa: ANN001, ANN201
        return WarmScore(run=RunResult(exit_code=0, stdout="", stderr="", duration_s=0.0), payload=dict(PAYLOAD))

    def close(self) -> None:
        pass


class Counts:
    def __init__(self):
        self.sql = 0
        self.redis = 0
        self.stages: dict[str, list[float]] = defaultdict(list)

    def reset(self) -> None:
        self.sql = self.redis = 0
        self.stages.clear()


COUNTS = Counts()


@contextmanager
def counting(engine):  # noqa: ANN001
    def on_sql(*_args) -> None:
        COUNTS.sql += 1

    original = Connection.send_packed_command

    def on_send(self, command, check_health=True):  # noqa: ANN001
        COUNTS.redis += 1  # one round trip: a pipeline's commands go in one packed send
        return original(self, command, check_health)

    event.listen(engine, "before_cursor_execute", on_sql)
    Connection.send_packed_command = on_send
    try:
        yield
    finally:
        Connection.send_packed_command = original
        event.remove(engine, "before_cursor_execute", on_sql)


def timed(module, name: str, stage: str) -> None:  # noqa: ANN001
    original = getattr(module, name)

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            COUNTS.stages[stage].append(time.perf_counter() - start)

    setattr(module, name, wrapper)


def report(label: str, n: int, elapsed: float) -> None:
    stages = "  ".join(f"{stage} {statistics.median(times) * 1000:.2f}" for stage, times in COUNTS.stages.items())
    print(f"{label:<24}{elapsed / n * 1000:>8.2f}{COUNTS.sql / n:>8.1f}{COUNTS.redis / n:>8.1f}   {stages}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--redis", default=bench_throughput.REDIS, help="a Redis database the bench may flush")
    args = parser.parse_args(argv)
    bench_throughput.REDIS = args.redis
    bench = Bench(1000, code=False)
    try:
        context = RunnerContext(settings=bench.settings, sessions=bench.sessions, storage=bench.storage,
                                redis=bench.redis)
        context.scorer = InstantScorer()
        context.sandbox = object()  # never used: the scorer answers for every prediction file
        configure(context)
        context.worker_name = None
        timed(jobs, "claim_submission", "claim ms")
        timed(jobs, "run_task", "run ms")
        timed(jobs, "record_outcome", "record ms")
        timed(jobs, "refresh_team_best", "board row ms")
        engine = bench.sessions.kw["bind"]
        print(f"{args.jobs} prediction jobs, a scorer that answers at once; per job:")
        print(f"{'':<24}{'ms':>8}{'SQL':>8}{'Redis':>8}   median ms per stage")
        with counting(engine):
            ids = [bench.submit(SLUG, bench.predictions, "p.csv") for _ in range(args.jobs)]
            bench.redis.flushdb()  # submit() enqueued them; the direct calls below need no queue
            COUNTS.reset()
            start = time.perf_counter()
            for sid in ids:
                assert jobs.score_submission(sid) == "scored"
            report("job function, no RQ", args.jobs, time.perf_counter() - start)

            ids = [bench.submit(SLUG, bench.predictions, "p.csv") for _ in range(args.jobs)]
            COUNTS.reset()
            worker = SimpleWorker([bench.queue], connection=bench.redis)
            start = time.perf_counter()
            worker.work(burst=True, logging_level="WARNING", with_scheduler=False)
            elapsed = time.perf_counter() - start
            report("RQ SimpleWorker, burst", args.jobs, elapsed)
            bench.wait(ids)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
