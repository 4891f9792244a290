"""Three hosts made of network namespaces (tests/e2e/netns_hosts.py): host A runs PostgreSQL, Redis and the
web app; hosts B and C run two workers each, with an empty data directory of their own. The files are in
the database, or (the second run) in an S3 bucket on moto's S3 server, which runs on host A beside
PostgreSQL and Redis. One worker host dies mid-run (every process in its namespace and its sandboxes,
SIGKILLed at once); every submission still ends scored exactly once."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from heldout.config import S3Settings
from heldout.db import make_engine, make_session_factory
from heldout.models import Challenge, ChallengeFile, StoredFile, Submission, SubmissionStatus, TeamBestScore, Worker
from heldout.runner.queue import connect_redis, scoring_queue
from heldout.storage.s3 import make_client
from tests.bundles import perfect_predictions, write_tiny_bundle
from tests.conftest import POSTGRES_ADMIN_URL, require
from tests.e2e.netns_hosts import (
    Network,
    heldout_env,
    missing_requirements,
    seed_users,
    start_postgres,
    start_redis,
    start_s3,
    wait_http,
)
from tests.e2e.test_end_to_end import _docker_ready, wait_until
from tests.s3_server import new_bucket, s3_env

pytestmark = pytest.mark.e2e

SUBMISSIONS = 30
USERS = 10
DEADLINE_S = 5  # HELDOUT_RUNNING_DEADLINE_S: a dead worker's lease is re-queued this long after its last renewal
RECONCILE_S = 1
S3_PORT = 9000


@pytest.fixture
def network():  # noqa: ANN201
    problem = missing_requirements()
    require(problem is None, f"namespace hosts cannot be built: {problem}")
    problem = _docker_ready()
    require(problem is None, f"the Docker sandbox is not ready: {problem}")
    net = Network(["b", "c"], prefix="hdt", subnet="10.77.0").up()
    try:
        yield net
    finally:
        net.down()


def _reachable(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


def _s3_requests(log: str, bucket: str) -> list[tuple[str, str, str]]:
    """(client address, method, object name) of each request for an object in moto's request log."""
    found = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines():
        request = re.match(r'(\S+) - - \[[^\]]*\] "(\w+) /([^/?\s]+)/([^?\s]+)\S* HTTP', line)
        if request and request[3] == bucket:
            found.append((request[1], request[2], unquote(request[4])))
    return found


def _assert_in_the_bucket_and_cached(bucket: S3Settings, stored: set[str], in_database: set[str], s3_log: str, *,
                                     solution_key: str, submission_keys: set[str], worker_hosts: tuple[str, ...]) -> None:
    # The files really are in the bucket, under the prefix, and none is in the database.
    listed = make_client(bucket).list_objects_v2(Bucket=bucket.bucket)
    assert not listed["IsTruncated"]
    assert {bucket.prefix + key for key in stored} <= {item["Key"] for item in listed["Contents"]}
    assert not in_database
    # The workers read them over their links (their hosts' own addresses in the S3 server's log) and kept their
    # content-hash cache: each worker process fetched the solution once at most, for all the submissions.
    fetched = [(client, name[len(bucket.prefix):]) for client, method, name in _s3_requests(s3_log, bucket.bucket)
               if method == "GET" and client in worker_hosts]
    solution_fetches = Counter(client for client, key in fetched if key == solution_key)
    assert set(solution_fetches) == set(worker_hosts), solution_fetches
    assert all(n <= 2 for n in solution_fetches.values()), solution_fetches  # two workers a host
    assert submission_keys <= {key for _client, key in fetched}


@pytest.mark.parametrize("storage", ["database", "s3"])
def test_a_worker_host_that_dies_mid_run_loses_nothing_and_scores_nothing_twice(network, tmp_path, storage):
    a, b, c = network.server, network.host("b"), network.host("c")
    service = network.service_address
    log_dir = tmp_path / "logs"

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
                         for p in sorted(log_dir.glob("*.log")))

    database_url = start_postgres(a, subnet=network.subnet, durable=False)
    redis_url = start_redis(a)
    services = [5432, 6379]
    if storage == "s3":
        # The bucket is made from the root namespace, over the operator's link, as an operator would.
        bucket = new_bucket(start_s3(a, port=S3_PORT), prefix="site/")
        files = s3_env(bucket)
        services.append(S3_PORT)
    else:
        files = dict(HELDOUT_STORAGE="database")

    # A worker host reaches host A's PostgreSQL, Redis (and S3) over its link, and nothing of the root namespace:
    # not the machine's own PostgreSQL and Redis on 127.0.0.1 (its 127.0.0.1 is its own loopback), not the
    # root namespace's end of the operator link.
    machine_pg = urlsplit(POSTGRES_ADMIN_URL.replace("postgresql+psycopg", "postgresql"))
    machine_pg_port = machine_pg.port or 5432
    for host in (b, c):
        assert all(host.can_connect(service, port) for port in services)
        assert not host.can_connect("127.0.0.1", machine_pg_port), f"{host.name} reaches 127.0.0.1:{machine_pg_port}"
        assert not host.can_connect("127.0.0.1", 6379)
        assert not host.can_connect(network.operator_address, machine_pg_port)
    assert not b.can_connect(c.address, 22, timeout_s=1)  # no path between worker hosts either
    if machine_pg.hostname in ("127.0.0.1", "localhost"):
        # ...and that PostgreSQL is really there, for the root namespace: the checks above meant something.
        assert _reachable("127.0.0.1", machine_pg_port)

    common = dict(HELDOUT_RUNNING_DEADLINE_S=str(DEADLINE_S), HELDOUT_RECONCILE_INTERVAL_S=str(RECONCILE_S),
                  HELDOUT_WORKER_HEARTBEAT_S="1", **files)

    def env(host) -> dict:  # noqa: ANN001 - each host its own empty data dir and TMPDIR
        return heldout_env(database_url=database_url, redis_url=redis_url, data_dir=host.root / "data",
                           tmp_dir=host.root / "tmp", **common)

    bundle = write_tiny_bundle(tmp_path / "bundle", daily_limit=100)
    a.heldout("db", "upgrade", env=env(a))
    a.heldout("challenges", "load", str(bundle), env=env(a))
    a.start_heldout("web", "serve", "--host", service, "--port", "8000", "--workers", "2", env=env(a),
                    log_dir=log_dir)
    base = f"http://{service}:8000"
    wait_http(f"{base}/healthz", 60, "the web app", log_dir / "a-web.log")
    users = seed_users(database_url, USERS)

    for host in (b, c):
        for i in (1, 2):
            host.start_heldout(f"worker-{i}", "worker", "--name", f"{host.name}-{i}", env=env(host), log_dir=log_dir)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        def registered() -> bool:
            with sessions() as s:
                return s.scalar(select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None))) == 4

        wait_until(registered, 60, "four workers to announce themselves", logs)

        # Learners submit over HTTP, through host A's address, while the workers score.
        good = perfect_predictions(bundle).decode().splitlines()

        def predictions(i: int) -> bytes:  # a different score each
            rows = [good[0]] + [f"{line.split(',')[0]},{float(line.split(',')[1]) + 0.01 * i}" for line in good[1:]]
            return ("\n".join(rows) + "\n").encode()

        def submit(i: int) -> int:
            _name, token = users[i % USERS]
            response = requests.post(f"{base}/api/v1/challenges/tiny-regression/submissions",
                                     headers={"Authorization": f"Bearer {token}"},
                                     files={"file": (f"p{i}.csv", predictions(i))}, timeout=60)
            assert response.status_code == 202, response.text
            return response.json()["id"]

        ids: list[int] = []
        poster = ThreadPoolExecutor(4)
        posting = threading.Thread(target=lambda: ids.extend(poster.map(submit, range(SUBMISSIONS))))
        posting.start()

        # Host B dies mid-run: once it has scored something and holds a running submission. Freeze it
        # first so what the database says it holds stays true until it is gone.
        def crash_b_mid_job():  # noqa: ANN202
            b.freeze()
            with sessions() as s:
                held = s.execute(
                    select(Submission.id, Submission.heartbeat_at)
                    .join(Worker, Worker.current_submission_id == Submission.id)
                    .where(Worker.hostname == b.netns, Submission.status == SubmissionStatus.RUNNING)).all()
                done = s.scalar(select(func.sum(Worker.jobs_done)).where(Worker.hostname == b.netns)) or 0
            if held and done >= 1:
                killed_at = datetime.now(timezone.utc)
                sandboxes = b.crash()
                return dict(held), killed_at, done, sandboxes
            b.thaw()
            return None

        held, killed_at, done_by_b, sandboxes = wait_until(crash_b_mid_job, 60, "host B to be running a submission", logs)
        assert not b.pids()
        assert sandboxes >= 1  # its prestarted pool's at least, found by their mounts from B's disk
        posting.join(timeout=120)
        poster.shutdown()
        assert len(ids) == SUBMISSIONS

        def all_finished():  # noqa: ANN202
            with sessions() as s:
                rows = list(s.scalars(select(Submission)))
            return rows if len(rows) == SUBMISSIONS and all(r.status.finished for r in rows) else None

        rows = wait_until(all_finished, 60, "every submission to finish", logs)
        by_id = {r.id: r for r in rows}
        assert sorted(by_id) == sorted(ids)
        assert all(r.status == SubmissionStatus.SCORED for r in rows), \
            [(r.id, r.status, r.error, r.internal_error) for r in rows if r.status != SubmissionStatus.SCORED]
        assert all(r.run_token and r.public_score is not None for r in rows)
        # What host B held, and nothing else, lost its worker: a reconciler on host C re-queued it once its
        # lease (last renewed before the crash) was DEADLINE_S old, and not long after. Any other re-run is a
        # job B had taken from Redis but not claimed yet when it died, or a platform error retried (none,
        # unless something else on this machine kills sandboxes meanwhile).
        worker_logs = "\n".join(p.read_text(errors="replace") for p in log_dir.glob("*-worker-*.log"))
        lost = re.findall(r"submission (\d+) lost its worker", worker_logs)
        taken = re.findall(r"submission (\d+) was taken by a worker that never claimed it", worker_logs)
        errors = re.findall(r"submission (\d+) is retried after a platform error", worker_logs)
        assert sorted(map(int, lost)) == sorted(held)
        assert len(taken) <= 2 - len(held)  # B's two workers held or took one job each at most
        assert sum(r.attempts - 1 for r in rows) == len(lost) + len(taken) + len(errors)
        for sid, lease in held.items():
            assert by_id[sid].queued_at > killed_at
            if by_id[sid].attempts == 2:
                waited = (by_id[sid].queued_at - lease).total_seconds()
                assert DEADLINE_S <= waited <= DEADLINE_S + RECONCILE_S + 10, (sid, waited)

        with sessions() as s:
            workers = {w.name: w for w in s.scalars(select(Worker))}
            solution_key = s.scalar(select(Challenge.solution_key))
            files_keys = set(s.scalars(select(ChallengeFile.storage_key)))
            in_database = set(s.scalars(select(StoredFile.key)))
            bests = list(s.scalars(select(TeamBestScore)))
            per_team = dict(s.execute(select(Submission.team_id, func.count()).group_by(Submission.team_id)).all())
        # Every outcome was recorded once: the workers' counts (bumped in the transaction that records it)
        # add up to the submissions, host B's up to its death included.
        assert sum(w.jobs_done for w in workers.values()) == SUBMISSIONS
        assert workers["b-1"].jobs_done + workers["b-2"].jobs_done == done_by_b
        assert {w.hostname for w in workers.values()} == {b.netns, c.netns}
        assert all(w.stopped_at is None for w in workers.values())  # B never said goodbye
        # The score history: one leaderboard row per team, counting each of its submissions once.
        assert len(bests) == USERS
        assert all(best.entries == per_team[best.team_id] for best in bests)
        assert sum(best.entries for best in bests) == SUBMISSIONS
        # The queue is drained.
        redis = connect_redis(redis_url)
        assert scoring_queue(redis).count == 0
        redis.close()
        # Workers kept no files of their own: everything came from the database or the bucket.
        for host in (b, c):
            assert not (host.root / "data" / "files").exists()
        stored = {solution_key, *files_keys, *(r.file_key for r in rows)}
        if storage == "database":
            assert stored <= in_database
        else:
            s3_log = (a.root / "s3.log").read_text(errors="replace")
            _assert_in_the_bucket_and_cached(bucket, stored, in_database, s3_log,
                                             solution_key=solution_key, submission_keys={r.file_key for r in rows},
                                             worker_hosts=(b.address, c.address))
    finally:
        engine.dispose()
