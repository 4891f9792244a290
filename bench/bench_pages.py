"""Server-side render time of the challenge page with a 10,000-team leaderboard.

    .venv/bin/python bench/bench_pages.py [--teams 10000] [--per-team 3] [--runs 200]
        [--database-url sqlite:///...|postgresql+psycopg://...]

Seeds one challenge (in a throwaway SQLite file unless --database-url names
another, already migrated, empty database) with ``--teams`` teams of one and
``--per-team`` scored submissions each, then times with the Flask test client
(view, services, template; no network) and prints p50/p95 of:

- ``GET /c/<slug>`` for an anonymous visitor and for a learner with a team and
  submissions (their "My submissions" tab, quota and chart canvas included);
- ``GET /c/<slug>/charts/history.json``, the score-history chart's data, which
  reads every scored submission of the challenge.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import insert
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import pct, timed  # noqa: E402

from heldout.config import Settings  # noqa: E402
from heldout.db import make_engine, make_session_factory, session_scope  # noqa: E402
from heldout.leaderboard.best import refresh_challenge_best  # noqa: E402
from heldout.migrate import upgrade  # noqa: E402
from heldout.models import (  # noqa: E402
    Challenge,
    ChallengeStatus,
    Submission,
    SubmissionStatus,
    Team,
    TeamMembership,
    User,
)
from heldout.platform import create_app  # noqa: E402

SLUG = "bench-page"
LEARNER = "learner1"
PASSWORD = "bench-password"




def seed(database_url: str, teams: int, per_team: int, now: datetime) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    rng = np.random.default_rng(7)
    start = now - timedelta(days=30)
    with session_scope(sessions) as s:
        challenge = Challenge(
            slug=SLUG, title="Bench page", summary="A challenge with a crowded leaderboard.",
            description_md="# Bench\n\nPredict **y**.\n", tags=["regression"], task_type="regression",
            metric="rmse", greater_is_better=False, display_precision=5,
            scoring_spec={"metric": "rmse", "id_column": "id", "target_columns": ["y"]},
            rules={"leaderboard": {"mode": "classic"}}, status=ChallengeStatus.PUBLISHED, content_hash="c" * 64,
            solution_hash="s" * 64, solution_key="solutions/bench.csv", daily_limit=5, max_team_size=1,
            starts_at=start, ends_at=now + timedelta(days=7), created_at=start)
        s.add(challenge)
        s.flush()
        cid = challenge.id
        hashed = generate_password_hash(PASSWORD)
        s.execute(insert(User), [{"id": i, "username": f"learner{i}", "password_hash": hashed if i == 1 else "x",
                                  "created_at": start} for i in range(1, teams + 1)])
        s.execute(insert(Team), [{"id": i, "challenge_id": cid, "name": f"team {i}", "created_at": start}
                                 for i in range(1, teams + 1)])
        s.execute(insert(TeamMembership), [{"id": i, "team_id": i, "challenge_id": cid, "user_id": i,
                                            "joined_at": start} for i in range(1, teams + 1)])
        total = teams * per_team
        team_of = np.repeat(np.arange(1, teams + 1), per_team)
        scores = np.abs(rng.normal(1.0, 0.2, size=total)).round(6)
        offsets = rng.integers(0, 29 * 86400, size=total)
        rows = []
        for i in range(total):
            at = start + timedelta(seconds=int(offsets[i]))
            rows.append({"id": i + 1, "challenge_id": cid, "team_id": int(team_of[i]), "user_id": int(team_of[i]),
                         "status": SubmissionStatus.SCORED, "filename": "sub.csv", "file_key": f"submissions/{i}.csv",
                         "file_size": 100, "message": "", "public_score": float(scores[i]),
                         "public_ci_low": float(scores[i]) - 0.01, "public_ci_high": float(scores[i]) + 0.01,
                         "created_at": at, "queued_at": at, "finished_at": at, "attempts": 1, "scored_version": 1})
        s.execute(insert(Submission), rows)
        refresh_challenge_best(s, cid, now=now)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--per-team", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="heldout-bench-pages-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        seed(url, args.teams, args.per_team, now)
        print(f"seeded {args.teams:,} teams and {args.teams * args.per_team:,} scored submissions on "
              f"{url.split(':', 1)[0]} in {time.perf_counter() - started:.1f} s")

        import fakeredis

        settings = Settings.from_env({"HELDOUT_DATA_DIR": f"{tmp}/data", "HELDOUT_DATABASE_URL": url,
                                      "HELDOUT_SECRET_KEY": "bench"})
        app = create_app(settings, redis=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
        app.config.update(WTF_CSRF_ENABLED=False)
        anonymous, learner = app.test_client(), app.test_client()
        assert learner.post("/login", data={"username": LEARNER, "password": PASSWORD}).status_code == 302

        def get(client, path: str) -> Callable[[], None]:  # noqa: ANN001
            def run() -> None:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                response.get_data()
            return run

        cases = [
            ("challenge page, anonymous", get(anonymous, f"/c/{SLUG}")),
            ("challenge page, learner with a team", get(learner, f"/c/{SLUG}")),
            ("score-history chart JSON, learner", get(learner, f"/c/{SLUG}/charts/history.json")),
        ]
        print(f"\n{'request':40} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}   ({args.runs} runs each)")
        for name, run in cases:
            times = timed(run, args.runs)
            print(f"{name:40} {pct(times, 0.5):8.1f} {pct(times, 0.95):8.1f} {statistics.mean(times):8.1f}")
        app.extensions["heldout"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
