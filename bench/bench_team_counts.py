"""What leaving hosts' teams (and teams with only late submissions) out of the challenge list's team count costs,
on PostgreSQL.

    .venv/bin/python bench/bench_team_counts.py [--teams 10000] [--per-team 100] [--hosts 3] [--late 20] [--runs 200]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Seeds one challenge as bench_leaderboard.py does (``--teams`` teams of one, ``--teams * --per-team``
scored submissions), turns ``--hosts`` teams' submissions into host submissions and the next ``--late`` teams'
into late ones, and prints p50/p95 of the count the challenge list and its cards show
(``services.challenge_pages.team_counts``, which leaves those teams out) next to the plain count of the
challenge's teams it replaced.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_leaderboard import seed  # noqa: E402
from timing import pct, timed  # noqa: E402

from heldout.db import make_engine, make_session_factory  # noqa: E402
from heldout.migrate import upgrade  # noqa: E402
from heldout.models import Team  # noqa: E402
from heldout.platform.services.challenge_pages import team_counts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=10_000)
    ap.add_argument("--per-team", type=int, default=100)
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--late", type=int, default=20)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards (drop it yourself)")
    args = ap.parse_args()
    name = f"heldout_bench_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(args.admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        started = time.perf_counter()
        challenge_id = seed(engine, sessions, args.teams, args.per_team, datetime.now(timezone.utc))
        with engine.begin() as connection:
            connection.execute(text("UPDATE submissions SET host = TRUE WHERE team_id <= :n"), {"n": args.hosts})
            connection.execute(text("UPDATE submissions SET late = TRUE WHERE team_id > :h AND team_id <= :n"),
                               {"h": args.hosts, "n": args.hosts + args.late})
            connection.execute(text("ANALYZE submissions"))
        print(f"seeded {args.teams:,} teams, {args.teams * args.per_team:,} submissions "
              f"({args.hosts} host-only teams, {args.late} late-only) in {time.perf_counter() - started:.0f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        with sessions() as s:
            assert team_counts(s, [challenge_id]) == {challenge_id: args.teams - args.hosts - args.late}
            plain = select(Team.challenge_id, func.count(Team.id)).where(Team.challenge_id.in_([challenge_id])) \
                .group_by(Team.challenge_id)
            rows = [("teams per challenge, host/late-only left out (team_counts)",
                     timed(lambda: team_counts(s, [challenge_id]), args.runs)),
                    ("teams per challenge, every team (the query before)",
                     timed(lambda: s.execute(plain).all(), args.runs))]
        print(f"{'measure':58} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8}")
        for label, values in rows:
            print(f"{label:58} {len(values):>5} {pct(values, 0.5):>8.2f} {pct(values, 0.95):>8.2f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        return 0
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept the database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
