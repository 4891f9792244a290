"""Submit-to-scored latency and throughput with real workers, Redis, PostgreSQL and the Docker sandbox.

    python bench/bench_throughput.py [--submissions 200] [--rows 10000] [--workers 1 2] [--pool 0 2]

For each (workers, pool) it measures: idle latency (one submission at a time), then a burst of
--submissions submitted at once: p50/p95/max submit-to-scored latency and throughput; and the same for a
code submission whose predict.py only copies a file. Where the time goes comes from the database's
per-submission timings (queue wait, sandbox run) and the scorer's own timings.
Needs: PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:5432, Redis at 127.0.0.1:6379 (db 13, flushed),
Docker with the sandbox image built (python -m heldout.runner.sandbox.image build).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import pct  # noqa: E402

from sqlalchemy import create_engine, select, text  # noqa: E402

from heldout.config import Settings  # noqa: E402
from heldout.db import make_engine, make_session_factory, session_scope  # noqa: E402
from heldout.migrate import upgrade  # noqa: E402
from heldout.models import Submission, SubmissionStatus  # noqa: E402
from heldout.platform.services.accounts import create_user  # noqa: E402
from heldout.platform.services.catalog import get_challenge  # noqa: E402
from heldout.platform.services.publishing import load_challenge  # noqa: E402
from heldout.platform.services.submissions import create_submission  # noqa: E402
from heldout.runner.queue import connect_redis, scoring_queue  # noqa: E402
from heldout.storage import LocalStorage  # noqa: E402
from tests.bundles import perfect_predictions, write_code_bundle, write_tiny_bundle  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/13"
# The hidden run copies the answers; the visible run, which sees only the public example, writes its rows.
COPY_PREDICT = b"""import csv, os, shutil
if os.path.exists('/data/answers.csv'):
    shutil.copyfile('/data/answers.csv', '/output/submission.csv')
else:
    rows = list(csv.reader(open('/data/test.csv')))[1:]
    open('/output/submission.csv', 'w').write('id,y\\n' + ''.join(f'{r[0]},0\\n' for r in rows))
"""



class Bench:
    def __init__(self, rows: int, *, code: bool = True):
        self.tmp = Path(tempfile.mkdtemp(prefix="heldout-bench-"))
        self.dbname = f"heldout_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.dbname}"'))
        admin.dispose()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.dbname}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
        self.env.update(HELDOUT_DATA_DIR=str(self.tmp / "data"), HELDOUT_DATABASE_URL=self.url,
                        HELDOUT_REDIS_URL=REDIS, HELDOUT_SANDBOX="docker", HELDOUT_SECRET_KEY="bench")
        self.settings = Settings.from_env(self.env)
        engine = make_engine(self.url)
        upgrade(engine)
        self.sessions = make_session_factory(engine)
        self.storage = LocalStorage(self.settings.storage_dir)
        self.redis = connect_redis(REDIS)
        self.redis.flushdb()
        self.queue = scoring_queue(self.redis)
        bundle = write_tiny_bundle(self.tmp / "predictions", "bench-predictions", rows=rows, daily_limit=100000)
        self.predictions = perfect_predictions(bundle)
        with session_scope(self.sessions) as s:
            load_challenge(s, self.storage, None, bundle)
            if code:  # bench_warm.py needs the predictions challenge only
                load_challenge(s, self.storage, None, self._code_bundle())
            self.user_id = create_user(s, "bench", "bench-password").id

    def _code_bundle(self) -> Path:
        code = write_code_bundle(self.tmp / "code", "bench-code")
        # The code challenge mounts the answers so a copying predict.py is a valid submission; the visible run
        # gets answers for the public example's rows, a learner download as every stand-in is.
        (code / "answers.csv").write_bytes(perfect_predictions(code))
        example_ids = [line.split(",")[0] for line in (code / "example_test.csv").read_text().splitlines()[1:]]
        (code / "example_answers.csv").write_text("id,y\n" + "".join(f"{i},0.0\n" for i in example_ids))
        (code / "challenge.yaml").write_text(
            (code / "challenge.yaml").read_text()
            .replace("daily_submission_limit: 20", "daily_submission_limit: 100000")
            .replace("      train.csv: train.csv", "      answers.csv: answers.csv")
            .replace("      test.csv: example_test.csv",
                     "      test.csv: example_test.csv\n      answers.csv: example_answers.csv")
            .replace("files: [train.csv, example_test.csv,",
                     "files: [train.csv, example_test.csv, example_answers.csv,"))
        return code

    def submit(self, slug: str, content: bytes, filename: str) -> int:
        with self.sessions() as s:
            from heldout.models import User

            user = s.get(User, self.user_id)
            challenge = get_challenge(s, user, slug)
            return create_submission(s, self.storage, self.queue, challenge=challenge, user=user,
                                     stream=io.BytesIO(content), filename=filename, max_bytes=1 << 30).id

    def wait(self, ids: list[int], timeout: float = 900) -> list[Submission]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as s:
                rows = list(s.scalars(select(Submission).where(Submission.id.in_(ids))))
            if all(r.status.finished for r in rows):
                bad = [r for r in rows if r.status != SubmissionStatus.SCORED]
                if bad:
                    raise SystemExit(f"submission {bad[0].id} ended {bad[0].status.value}: "
                                     f"{bad[0].error or bad[0].internal_error}")
                return rows
            time.sleep(0.05)
        raise SystemExit("timed out waiting for scores")

    def start_workers(self, n: int, pool: int) -> list[subprocess.Popen]:
        env = dict(self.env, HELDOUT_SANDBOX_POOL_SIZE=str(pool))
        procs = [subprocess.Popen([sys.executable, "-m", "heldout.cli", "worker", "--name",
                                   f"bench-{i}-{uuid.uuid4().hex[:4]}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                 for i in range(n)]
        time.sleep(3 + pool)  # let pools fill
        return procs

    @staticmethod
    def stop(procs: list[subprocess.Popen]) -> None:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)

    def close(self) -> None:
        admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)'))
        admin.dispose()
        self.redis.flushdb()
        subprocess.run(["rm", "-rf", str(self.tmp)])


def latency(rows: list[Submission]) -> list[float]:
    return [(r.finished_at - r.created_at).total_seconds() for r in rows]


def measure(bench: Bench, slug: str, content: bytes, filename: str, burst: int, idle_runs: int) -> dict:
    idle = []
    for _ in range(idle_runs):
        sid = bench.submit(slug, content, filename)
        idle += latency(bench.wait([sid]))
    start = time.monotonic()
    ids = [bench.submit(slug, content, filename) for _ in range(burst)]
    rows = bench.wait(ids)
    elapsed = time.monotonic() - start
    lat = latency(rows)
    return {"idle_p50": statistics.median(idle), "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "max": max(lat),
            "throughput": burst / elapsed, "queue_wait_p50": statistics.median(r.queue_wait_s for r in rows),
            "run_p50": statistics.median(r.run_s for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pool", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--idle-runs", type=int, default=10)
    args = parser.parse_args()
    bench = Bench(args.rows)
    print(f"{args.submissions} submissions of {args.rows:,} rows; latency = submit → scored, seconds")
    header = (f"{'kind':<12}{'workers':>8}{'pool':>6}{'idle p50':>10}{'p50':>8}{'p95':>8}{'max':>8}{'per s':>8}"
              f"{'wait p50':>10}{'run p50':>9}")
    print(header)
    print("-" * len(header))
    try:
        for pool in args.pool:
            for workers in args.workers:
                procs = bench.start_workers(workers, pool)
                try:
                    for kind, slug, content, name in (
                            ("predictions", "bench-predictions", bench.predictions, "p.csv"),
                            ("code (copy)", "bench-code", COPY_PREDICT, "predict.py")):
                        burst = args.submissions if kind == "predictions" else max(10, args.submissions // 4)
                        m = measure(bench, slug, content, name, burst, args.idle_runs)
                        print(f"{kind:<12}{workers:>8}{pool:>6}{m['idle_p50']:>10.3f}{m['p50']:>8.2f}{m['p95']:>8.2f}"
                              f"{m['max']:>8.2f}{m['throughput']:>8.2f}{m['queue_wait_p50']:>10.2f}{m['run_p50']:>9.3f}",
                              flush=True)
                finally:
                    bench.stop(procs)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
