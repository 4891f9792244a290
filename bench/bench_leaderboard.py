"""Leaderboard speed at Kaggle scale, on PostgreSQL.

    .venv/bin/python bench/bench_leaderboard.py [--teams 10000] [--per-team 100] [--runs 300]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a throwaway database (heldout_bench_<pid>), migrates it, seeds one
challenge with ``--teams`` teams of one and ``--teams * --per-team`` scored
submissions with COPY, and prints p50/p95 of:

- the public leaderboard query (one page of 100 rows) and the whole page as a
  learner gets it (Flask test client: view, service, template);
- recording one new score the way a worker does (record_outcome, then
  refresh_team_best, then commit), in the classic and the ladder mode;
- computing and storing the private leaderboard with its shake-up, as happens
  once at close, and reading its page afterwards.

The database is dropped at the end, also when something fails.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import pct, timed  # noqa: E402

from heldout.db import make_engine, make_session_factory, session_scope  # noqa: E402
from heldout.leaderboard import private  # noqa: E402
from heldout.leaderboard.best import refresh_team_best  # noqa: E402
from heldout.leaderboard.history import snapshot_before_change  # noqa: E402
from heldout.leaderboard.public import public_leaderboard  # noqa: E402
from heldout.migrate import upgrade  # noqa: E402
from heldout.models import (  # noqa: E402
    Challenge,
    ChallengeStatus,
    Submission,
    SubmissionStatus,
    TeamBestScore,
)
from heldout.runner.claims import claim_submission, record_outcome  # noqa: E402
from heldout.runner.outcome import Outcome  # noqa: E402

SLUG = "bench-race"
TARGETS = {"public": 50.0, "record": 10.0, "close": 5000.0}




def copy_rows(raw, table: str, columns: list[str], lines: list[str]) -> None:
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for start in range(0, len(lines), 50_000):
                copy.write("".join(lines[start:start + 50_000]))


def seed(engine, sessions, teams: int, per_team: int, now: datetime) -> int:
    """Users, teams and scored submissions by COPY; the best-score rows by one INSERT ... SELECT."""
    with session_scope(sessions) as s:
        challenge = Challenge(
            slug=SLUG, title="Bench race", task_type="classification", metric="accuracy", greater_is_better=True,
            display_precision=5, scoring_spec={"metric": "accuracy"}, rules={"leaderboard": {"mode": "classic"}},
            status=ChallengeStatus.PUBLISHED, content_hash="c" * 64, solution_hash="s" * 64,
            solution_key="solutions/bench.csv", daily_limit=5, max_team_size=4, max_final_submissions=2,
            starts_at=now - timedelta(days=60), ends_at=now + timedelta(days=7), created_at=now - timedelta(days=61))
        s.add(challenge)
        s.flush()
        challenge_id = challenge.id
    stamp = (now - timedelta(days=61)).isoformat()
    rng = np.random.default_rng(7)
    raw = engine.raw_connection()
    try:
        ids = range(1, teams + 1)
        copy_rows(raw.driver_connection, "users", ["id", "username", "password_hash", "is_admin", "is_organizer",
                                                   "created_at"],
                  [f"{i}\tlearner{i}\tx\tf\tf\t{stamp}\n" for i in ids])
        copy_rows(raw.driver_connection, "teams", ["id", "challenge_id", "name", "created_at"],
                  [f"{i}\t{challenge_id}\tteam {i}\t{stamp}\n" for i in ids])
        copy_rows(raw.driver_connection, "team_memberships", ["id", "team_id", "challenge_id", "user_id", "joined_at"],
                  [f"{i}\t{i}\t{challenge_id}\t{i}\t{stamp}\n" for i in ids])
        total = teams * per_team
        team_of = np.repeat(np.arange(1, teams + 1), per_team)
        skill = rng.normal(0.80, 0.04, size=teams)[team_of - 1]
        public = np.clip(skill + rng.normal(0, 0.01, size=total), 0, 1).round(6)
        start = np.datetime64((now - timedelta(days=60)).replace(tzinfo=None), "s")
        at = np.datetime_as_string(start + rng.integers(0, 60 * 86400 - 3600, size=total).astype("timedelta64[s]"))
        frame = pd.DataFrame({
            "id": np.arange(1, total + 1), "challenge_id": challenge_id, "team_id": team_of, "user_id": team_of,
            "kind": "predictions", "status": "scored", "filename": "sub.csv",
            "file_key": [f"submissions/{i}.upload" for i in range(1, total + 1)], "file_size": 100, "message": "",
            "public_score": public, "private_score": np.clip(public + rng.normal(0, 0.01, size=total), 0, 1).round(6),
            "public_ci_low": (public - 0.01).round(6), "public_ci_high": (public + 0.01).round(6),
            "selected_final": "f", "created_at": at, "queued_at": at, "finished_at": at, "attempts": 1,
            "scored_version": 1})
        buffer = io.StringIO()
        # Times are UTC: the session's time zone is set to UTC for the COPY.
        frame.to_csv(buffer, sep="\t", header=False, index=False)
        with raw.driver_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            # The rows are consistent by construction: skip the three foreign-key checks per row while seeding.
            cursor.execute("SET session_replication_role = replica")
            with cursor.copy(f"COPY submissions ({', '.join(frame.columns)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute("SET session_replication_role = origin")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        for table in ("users", "teams", "team_memberships", "submissions"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
        # What refresh_team_best leaves for each team in the classic mode, for all teams at once.
        connection.execute(text("""
            INSERT INTO team_best_scores (challenge_id, team_id, submission_id, public_score, rank_key, public_ci_low,
                                          public_ci_high, submitted_at, entries, last_entry_at)
            SELECT DISTINCT ON (s.team_id) s.challenge_id, s.team_id, s.id, s.public_score, -s.public_score,
                   s.public_ci_low,
                   s.public_ci_high, s.created_at, c.entries, c.last_entry_at
            FROM submissions s
            JOIN (SELECT team_id, count(*) AS entries, max(created_at) AS last_entry_at
                  FROM submissions GROUP BY team_id) c ON c.team_id = s.team_id
            ORDER BY s.team_id, s.public_score DESC, s.created_at, s.id"""))
        connection.execute(text("ANALYZE"))
    return challenge_id


def check_seed(sessions, challenge_id: int, teams: int, now: datetime) -> None:
    """The bulk best-score rows are exactly what refresh_team_best computes, for a sample of teams."""
    with sessions() as s:
        for team_id in random.Random(1).sample(range(1, teams + 1), min(20, teams)):
            bulk = s.get(TeamBestScore, (challenge_id, team_id))
            bulk = (bulk.submission_id, bulk.public_score, bulk.entries)
            s.expunge_all()
            fresh = refresh_team_best(s, challenge_id, team_id, now=now)
            assert (fresh.submission_id, fresh.public_score, fresh.entries) == bulk, (team_id, bulk)
            s.rollback()


def new_submission(sessions, challenge_id: int, team_id: int, now: datetime) -> int:
    with session_scope(sessions) as s:
        row = Submission(challenge_id=challenge_id, team_id=team_id, user_id=team_id, status=SubmissionStatus.QUEUED,
                         filename="new.csv", file_key=f"submissions/new-{team_id}-{time.monotonic_ns()}.upload",
                         file_size=100, created_at=now, queued_at=now, attempts=1)
        s.add(row)
        s.flush()
        return row.id


def bench_recording(sessions, challenge_id: int, teams: int, runs: int, now: datetime) -> list[float]:
    """A worker's last step: store the outcome, refresh the team's row, commit (runner/jobs.py)."""
    rng = random.Random(3)
    out = []
    for _ in range(runs):
        team_id = rng.randrange(1, teams + 1)
        submission_id = new_submission(sessions, challenge_id, team_id, now)
        with session_scope(sessions) as s:
            task = claim_submission(s, submission_id, now=now)
        score = round(rng.uniform(0.7, 0.9), 6)
        outcome = Outcome(status=SubmissionStatus.SCORED, public_score=score, private_score=score,
                          public_ci=(score - 0.01, score + 0.01))
        start = time.perf_counter()
        with session_scope(sessions) as s:
            assert record_outcome(s, task, outcome, now=now)
            refresh_team_best(s, task.challenge_id, s.get(Submission, submission_id).team_id, now=now)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=10_000)
    ap.add_argument("--per-team", type=int, default=100)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards (drop it yourself)")
    args = ap.parse_args()

    name = f"heldout_bench_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        return run(args, engine, url)
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept the database: {url}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(args, engine, url: str) -> int:  # noqa: ANN001
    import fakeredis

    from heldout.config import Settings
    from heldout.platform import create_app

    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.perf_counter()
    challenge_id = seed(engine, sessions, args.teams, args.per_team, now)
    seeded_s = time.perf_counter() - started
    check_seed(sessions, challenge_id, args.teams, now)
    with session_scope(sessions) as s:
        # Yesterday's standings, so the rank-change column has something to compare with.
        snapshot_before_change(s, s.get(Challenge, challenge_id), now)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
        submissions = connection.execute(text("SELECT count(*) FROM submissions")).scalar()

    rows: list[tuple[str, int, float, float, str]] = []
    rng = random.Random(5)
    load_before = os.getloadavg()[0]
    pages = max(1, args.teams // 100)

    def record(label: str, values: list[float], target: str) -> None:
        rows.append((label, len(values), pct(values, 0.5), pct(values, 0.95), target))

    with engine.connect() as connection:
        # What this machine's database costs at all, to read the figures below against.
        record("baseline: one round trip (SELECT 1)",
               timed(lambda: connection.execute(text("SELECT 1")).scalar(), args.runs), "")
    with sessions() as s:
        challenge = s.get(Challenge, challenge_id)
        s.expunge(challenge)  # detached: the rollbacks below do not make it reload

        def query_page():
            s.rollback()
            assert len(public_leaderboard(s, challenge, limit=100, offset=100 * rng.randrange(pages))) == 100

        record("public leaderboard query, 100 rows, random page", timed(query_page, args.runs), "p95 < 50 ms")

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings.from_env({"HELDOUT_DATABASE_URL": url, "HELDOUT_DATA_DIR": data_dir,
                                            "HELDOUT_SECRET_KEY": "bench"}), redis=fakeredis.FakeRedis())
        client = app.test_client()

        def get(path: str) -> Callable[[], None]:
            def fetch():
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
            return fetch

        record("public leaderboard page (HTML), page 1", timed(get(f"/c/{SLUG}/leaderboard"), args.runs),
               "p95 < 50 ms")
        record("public leaderboard page (HTML), random page",
               timed(lambda: get(f"/c/{SLUG}/leaderboard?page={rng.randrange(1, pages + 1)}")(), args.runs),
               "p95 < 50 ms")

        record("record one new score (classic)", bench_recording(sessions, challenge_id, args.teams, args.runs, now),
               "p95 < 10 ms")
        with session_scope(sessions) as s:
            ladder = s.get(Challenge, challenge_id)
            ladder.leaderboard_mode, ladder.rules = "ladder", {"leaderboard": {"mode": "ladder", "step": 0.005}}
        record("record one new score (ladder, replays ~100)",
               bench_recording(sessions, challenge_id, args.teams, max(50, args.runs // 3), now), "p95 < 10 ms")
        with session_scope(sessions) as s:
            classic = s.get(Challenge, challenge_id)
            classic.leaderboard_mode, classic.rules = "classic", {"leaderboard": {"mode": "classic"}}
            classic.ends_at = now - timedelta(seconds=1)  # the challenge closes

        closes = []
        for _ in range(3):
            with session_scope(sessions) as s:
                private.track_changes(s, challenge_id)
                s.execute(text("UPDATE private_board_states SET generation = generation + 1"))
            start = time.perf_counter()
            with session_scope(sessions) as s:
                stored = private.recompute(s, s.get(Challenge, challenge_id), now=now)
            closes.append((time.perf_counter() - start) * 1000)
            assert stored == args.teams
        rows.append(("private leaderboard + shake-up, computed at close", len(closes), pct(closes, 0.5),
                     max(closes), "< 5000 ms"))
        record("private leaderboard page (HTML), random page, after close",
               timed(lambda: get(f"/c/{SLUG}/leaderboard?board=private&page={rng.randrange(1, pages + 1)}")(),
                     max(50, args.runs // 3)), "")

    print(f"Heldout leaderboard bench: PostgreSQL {version}, {args.teams:,} teams, {submissions:,} scored "
          f"submissions (seeded in {seeded_s:.1f} s); {os.cpu_count()} CPUs, load average "
          f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after the measurements")
    print(f"{'measure':<58} {'n':>5} {'p50 ms':>9} {'p95 ms':>9}  target")
    for label, n, p50, p95, target in rows:
        print(f"{label:<58} {n:>5} {p50:>9.2f} {p95:>9.2f}  {target}")
    print("(for the close row the second figure is the slowest of the runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
