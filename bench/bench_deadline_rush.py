"""The deadline rush: many prediction submissions arriving within a few minutes, against real processes.

    python bench/bench_deadline_rush.py [--submissions 5000] [--window-s 600] [--workers 2] [--hosts 0 2]
                                        [--users 500] [--arrivals poisson|uniform] [--no-page-load]

Every configuration runs on hosts made of network namespaces (tests/e2e/netns_hosts.py) with a fresh
PostgreSQL and Redis: ``--hosts 0`` is one box (host A runs PostgreSQL, Redis, the web app and
``--workers`` workers); ``--hosts K`` keeps PostgreSQL, Redis and the web app on host A and puts
``--workers`` workers on each of K worker hosts, which reach host A over their links only and keep no
files of their own (``--storage database``, the default). ``--users`` learners, each with an API token,
submit over HTTP from a separate process, at the times of a Poisson process of ``--submissions`` arrivals
in ``--window-s`` seconds (or evenly spaced). Meanwhile wrk (Debian's package; installed when missing)
reads the challenge page and the leaderboard at ``--page-rps`` requests per second.

It prints, per configuration: submitted, scored, lost (submitted and not scored), scored twice (outcomes
recorded beyond one per submission, from the workers' counts), retried (runs beyond the first), drain time
(last arrival to last score) and drain rate (scored per second meanwhile: the workers' own pace, working off
a full queue), throughput (scored/s from the first arrival to the last score), the largest
backlog, p50/p95 queue wait and submit-to-scored latency, p50/p95 of the submit request, and the pages'
p50/p95 under load. Workers keep up when throughput matches the arrival rate and the backlog stays small;
when they do not, the backlog, the waits and the drain time show by how much. Namespace hosts share this
machine's CPUs: more worker hosts add workers, not cores, so the drain rate grows only until the cores are
busy (the machine's load average is printed, since other work on a shared machine shows there too).

Needs root, iproute2, PostgreSQL's server binaries, redis-server, and Docker with the sandbox image built
(python -m heldout.runner.sandbox.image build). Leaves nothing behind (namespaces prefixed ``hdb-``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import pct  # noqa: E402

PREFIX = "hdb"
SUBNET = "10.77.1"
SLUG = "rush-predictions"
PAGE_TARGET_MS = 200.0

WRK_SCRIPT = """
local paths = {"/c/%(slug)s", "/c/%(slug)s/leaderboard"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
delay = function() return %(delay_ms)d end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"p50_ms": %%.3f, "p95_ms": %%.3f, "p99_ms": %%.3f, "max_ms": %%.3f, ' ..
    '"requests": %%d, "socket_errors": %%d, "non_2xx": %%d, "duration_s": %%.3f}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    summary.duration / 1e6))
end
"""


def _die_with_parent() -> None:
    """preexec_fn for the helpers in the root namespace: a crashed bench takes them along (the processes on
    the namespace hosts are removed by the next run's clean-up instead)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- the submitting process ---------------------------------------------------------------------------------

def post_all(plan_path: Path, out_path: Path) -> None:
    """Run as its own process: send each submission at its planned time, from a pool of threads."""
    import requests

    plan = json.loads(plan_path.read_text())
    files = [f.encode() for f in plan["files"]]
    local = threading.local()
    results: list[dict] = [None] * len(plan["arrivals"])  # type: ignore[list-item]

    def send(i: int, token: str, due: float) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        sent = time.time()
        record = {"i": i, "due": due, "sent": sent}
        try:
            response = session.post(f"{plan['base']}/api/v1/challenges/{plan['slug']}/submissions",
                                    headers={"Authorization": f"Bearer {token}"},
                                    files={"file": (f"rush-{i}.csv", files[i % len(files)])}, timeout=120)
            record.update(status=response.status_code, seconds=time.time() - sent)
            if response.status_code == 202:
                record["id"] = response.json()["id"]
            else:
                record["body"] = response.text[:300]
        except Exception as exc:  # noqa: BLE001 - counted as not accepted
            record.update(status=0, seconds=time.time() - sent, body=f"{type(exc).__name__}: {exc}"[:300])
        results[i] = record

    start = plan["start"]
    with ThreadPoolExecutor(plan["threads"]) as pool:
        for i, (offset, token) in enumerate(zip(plan["arrivals"], plan["tokens"])):
            due = start + offset
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            pool.submit(send, i, token, due)
    out_path.write_text(json.dumps(results))


# --- one configuration --------------------------------------------------------------------------------------

def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return None
    print("wrk is not installed: installing Debian's wrk package (apt-get install -y wrk)", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        done = subprocess.run(install, capture_output=True, text=True)
        if done.returncode != 0:
            return f"could not install wrk: {done.stderr.strip()[-300:]}"
    return None


def predictions(bundle: Path, count: int) -> list[str]:
    """``count`` different valid prediction files: the solution plus a little noise each, so scores differ."""
    from tests.bundles import perfect_predictions

    good = perfect_predictions(bundle).decode().splitlines()
    rng = random.Random(7)
    out = []
    for _ in range(count):
        scale = 0.05 + 0.5 * rng.random()
        rows = [good[0]] + [f"{line.split(',')[0]},{float(line.split(',')[1]) + rng.gauss(0, scale):.6f}"
                            for line in good[1:]]
        out.append("\n".join(rows) + "\n")
    return out


def arrivals(n: int, window_s: float, kind: str, seed: int = 1) -> list[float]:
    if kind == "uniform":
        return [window_s * i / n for i in range(n)]
    # n arrivals of a Poisson process on [0, window]: sorted uniform times.
    rng = random.Random(seed)
    return sorted(rng.uniform(0, window_s) for _ in range(n))


def run_configuration(args, hosts: int, work: Path) -> dict:  # noqa: ANN001
    from sqlalchemy import func, select

    from heldout.db import make_engine, make_session_factory
    from heldout.models import Submission, SubmissionStatus, TeamBestScore, Worker
    from heldout.runner.queue import connect_redis, scoring_queue
    from tests.bundles import write_tiny_bundle
    from tests.e2e.netns_hosts import Network, heldout_env, seed_users, start_postgres, start_redis, wait_http

    label = "one box" if hosts == 0 else f"{hosts} worker hosts"
    total_workers = args.workers * max(1, hosts)
    print(f"\n== {label}: {total_workers} workers; {args.submissions} submissions in {args.window_s:.0f}s "
          f"({args.submissions / args.window_s:.2f}/s) from {args.users} learners", flush=True)
    log_dir = work / f"logs-{hosts}"
    net = Network([f"w{k}" for k in range(1, hosts + 1)], prefix=PREFIX, subnet=SUBNET)
    engine = None
    try:
        net.up()
        a = net.server
        service = net.service_address
        database_url = start_postgres(a, subnet=SUBNET, durable=True, max_connections=400)
        redis_url = start_redis(a)
        common = dict(HELDOUT_STORAGE=args.storage, HELDOUT_LOG_FORMAT="text")

        def env(host) -> dict:  # noqa: ANN001
            # Local storage on several hosts stands for a shared disk: every host uses host A's directory.
            data = host.root / "data" if args.storage == "database" else a.root / "data"
            return heldout_env(database_url=database_url, redis_url=redis_url, data_dir=data,
                               tmp_dir=host.root / "tmp", **common)

        bundle = write_tiny_bundle(work / f"bundle-{hosts}", SLUG, rows=args.rows,
                                   daily_limit=args.submissions + 10)
        a.heldout("db", "upgrade", env=env(a))
        a.heldout("challenges", "load", str(bundle), env=env(a))
        a.start_heldout("web", "serve", "--host", service, "--port", "8000", "--workers", str(args.web_workers),
                        env=env(a), log_dir=log_dir)
        base = f"http://{service}:8000"
        wait_http(f"{base}/healthz", 60, "the web app", log_dir / "a-web.log")
        users = seed_users(database_url, args.users, prefix="rush")
        worker_hosts = [a] if hosts == 0 else net.workers
        for host in worker_hosts:
            for i in range(1, args.workers + 1):
                host.start_heldout(f"worker-{i}", "worker", "--name", f"{host.name}-{i}", env=env(host),
                                   log_dir=log_dir)
        engine = make_engine(database_url)
        sessions = make_session_factory(engine)
        deadline = time.monotonic() + 90
        while True:
            with sessions() as s:
                up = s.scalar(select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None)))
            if up == total_workers:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {up} of {total_workers} workers started; see {log_dir}")
            time.sleep(0.5)
        time.sleep(3)  # the prestarted sandbox pools fill
        wait_http(f"{base}/c/{SLUG}", 30, "the challenge page")

        # The rush: the submitting process and wrk start together.
        plan = {"base": base, "slug": SLUG, "start": time.time() + 2, "threads": args.post_threads,
                "arrivals": arrivals(args.submissions, args.window_s, args.arrivals),
                "tokens": [users[i % len(users)][1] for i in range(args.submissions)],
                "files": predictions(bundle, 50)}
        (work / "plan.json").write_text(json.dumps(plan))
        poster = subprocess.Popen([sys.executable, __file__, "--_post", str(work / "plan.json"),
                                   str(work / "posted.json")], preexec_fn=_die_with_parent)
        wrk = None
        if args.page_load:
            connections = 4
            script = work / "pages.lua"
            script.write_text(WRK_SCRIPT % {"slug": SLUG,
                                            "delay_ms": max(0, int(1000 * connections / args.page_rps))})
            wrk = subprocess.Popen(["wrk", "-t", "1", "-c", str(connections), "-d", f"{int(args.window_s) + 2}s",
                                    "--timeout", "10s", "-s", str(script), base],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=_die_with_parent)
        redis = connect_redis(redis_url)
        queue = scoring_queue(redis)
        backlog = 0
        load = []  # the machine's 1-minute load average: on a shared machine, others' work shows here
        while poster.poll() is None:
            backlog = max(backlog, queue.count)
            load.append(os.getloadavg()[0])
            time.sleep(1)
        if poster.returncode != 0:
            raise SystemExit("the submitting process failed")
        posted = json.loads((work / "posted.json").read_text())
        accepted = {p["id"] for p in posted if p.get("id") is not None}
        last_arrival = max(p["sent"] for p in posted)
        print(f"   submitted {len(posted)} ({len(accepted)} accepted) in {last_arrival - plan['start']:.0f}s; "
              f"waiting for the queue to drain", flush=True)
        drain_deadline = time.monotonic() + args.drain_timeout_s
        while time.monotonic() < drain_deadline:
            backlog = max(backlog, queue.count)
            load.append(os.getloadavg()[0])
            with sessions() as s:
                pending = s.scalar(select(func.count()).select_from(Submission)
                                   .where(Submission.status.in_([SubmissionStatus.QUEUED, SubmissionStatus.RUNNING])))
            if pending == 0 and queue.count == 0:
                break
            time.sleep(1)
        page = None
        if wrk is not None:
            out, _ = wrk.communicate(timeout=args.window_s + 60)
            line = next((x for x in out.splitlines() if x.startswith("WRKJSON ")), None)
            page = json.loads(line[len("WRKJSON "):]) if line else {"error": out[-500:]}

        with sessions() as s:
            rows = list(s.scalars(select(Submission)))
            jobs_done = s.scalar(select(func.sum(Worker.jobs_done))) or 0
            entries = s.scalar(select(func.sum(TeamBestScore.entries))) or 0
        redis_left = queue.count
        redis.close()
        scored = [r for r in rows if r.status == SubmissionStatus.SCORED and r.id in accepted]
        finished = [r for r in rows if r.status in (SubmissionStatus.SCORED, SubmissionStatus.FAILED)]
        not_scored = {r.status.value: 0 for r in rows if r.status != SubmissionStatus.SCORED}
        for r in rows:
            if r.status != SubmissionStatus.SCORED:
                not_scored[r.status.value] += 1
        first = min(r.created_at for r in rows)
        last_done = max(r.finished_at for r in scored) if scored else None
        last_created = max(r.created_at for r in rows)
        drain_s = (last_done - last_created).total_seconds() if last_done else None
        request_s = [p["seconds"] for p in posted]
        late = [p["sent"] - p["due"] for p in posted]
        result = {
            "label": label, "workers": total_workers, "submitted": len(posted), "accepted": len(accepted),
            "rejected": len(posted) - len(accepted),
            "rejections": sorted({f"{p['status']}: {p.get('body', '')[:120]}"
                                  for p in posted if p.get("id") is None})[:5],
            "scored": len(scored), "lost": len(posted) - len(scored), "not_scored": not_scored,
            "scored_twice": jobs_done - len(finished), "board_entries": entries,
            "retried": sum(r.attempts - 1 for r in rows), "why": requeue_reasons(log_dir),
            "queue_left": redis_left, "max_backlog": backlog,
            "drain_s": drain_s,
            # The workers' own pace: what they scored after the last arrival, from a full queue, per second.
            "drain_rate": (sum(1 for r in scored if r.finished_at > last_created) / drain_s
                           if drain_s and drain_s >= 5 else None),
            "throughput": len(scored) / (last_done - first).total_seconds() if last_done else 0.0,
            "arrival_rate": args.submissions / args.window_s,
            "wait_p50": pct([r.queue_wait_s for r in scored], 0.5) if scored else None,
            "wait_p95": pct([r.queue_wait_s for r in scored], 0.95) if scored else None,
            "e2e_p50": pct([(r.finished_at - r.created_at).total_seconds() for r in scored], 0.5) if scored else None,
            "e2e_p95": pct([(r.finished_at - r.created_at).total_seconds() for r in scored], 0.95) if scored else None,
            "run_p50": pct([r.run_s for r in scored], 0.5) if scored else None,
            "submit_p50_ms": 1000 * pct(request_s, 0.5), "submit_p95_ms": 1000 * pct(request_s, 0.95),
            "late_max_s": max(late), "page": page, "load_max": max(load), "cpus": os.cpu_count(),
        }
        print_result(result)
        return result
    finally:
        if engine is not None:
            engine.dispose()
        net.down()


def requeue_reasons(log_dir: Path) -> dict:
    """Why submissions ran more than once, from the workers' logs: the reconciler's re-queues by reason,
    and the platform errors behind them (a sandbox killed by something else on a shared machine, ...)."""
    import collections
    import re

    reasons: collections.Counter = collections.Counter()
    for path in log_dir.glob("*worker*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if "lost its worker" in line:
                reasons["lease_expired"] += 1
            elif "never claimed it" in line:
                reasons["taken_not_claimed"] += 1
            elif "is retried after a platform error" in line:
                reasons["retry_error"] += 1
            elif match := re.search(r"submission \d+ error: (\w+): (.{0,80})", line):
                reasons[f"error {match.group(1)}: {match.group(2)}"] += 1
    return dict(reasons.most_common(8))


def _f(value, fmt: str) -> str:  # noqa: ANN001
    return "-" if value is None else format(value, fmt)


def print_result(r: dict) -> None:
    print(f"   submitted {r['submitted']}, accepted {r['accepted']}, scored {r['scored']}, lost {r['lost']}, "
          f"scored twice {r['scored_twice']}, retried {r['retried']}, left in the queue {r['queue_left']}")
    if r["why"]:
        print(f"   re-runs and why: {r['why']}")
    if r["rejected"]:
        print(f"   rejected: {r['rejections']}")
    if r["not_scored"]:
        print(f"   not scored: {r['not_scored']}")
    if r["board_entries"] != r["scored"]:
        print(f"   leaderboard entries {r['board_entries']} != scored {r['scored']}")
    drained = f" at {r['drain_rate']:.2f}/s" if r["drain_rate"] else ""
    print(f"   drain {_f(r['drain_s'], '.1f')}s after the last arrival{drained}; throughput {r['throughput']:.2f} "
          f"scored/s (arrivals {r['arrival_rate']:.2f}/s); largest backlog {r['max_backlog']}")
    print(f"   queue wait p50 {_f(r['wait_p50'], '.2f')}s p95 {_f(r['wait_p95'], '.2f')}s; submit→scored "
          f"p50 {_f(r['e2e_p50'], '.2f')}s p95 {_f(r['e2e_p95'], '.2f')}s; sandbox run p50 {_f(r['run_p50'], '.3f')}s")
    print(f"   submit request p50 {r['submit_p50_ms']:.0f}ms p95 {r['submit_p95_ms']:.0f}ms; "
          f"latest arrival {r['late_max_s']:.2f}s behind schedule; machine load up to {r['load_max']:.1f} "
          f"on {r['cpus']} CPUs")
    page = r["page"]
    if page and "error" not in page:
        verdict = "ok" if page["p95_ms"] < PAGE_TARGET_MS else f"OVER {PAGE_TARGET_MS:.0f} ms"
        print(f"   pages under load: {page['requests']} requests ({page['requests'] / page['duration_s']:.1f}/s), "
              f"p50 {page['p50_ms']:.0f}ms p95 {page['p95_ms']:.0f}ms p99 {page['p99_ms']:.0f}ms ({verdict}); "
              f"non-2xx {page['non_2xx']}, socket errors {page['socket_errors']}")
    elif page:
        print(f"   wrk gave no result: {page['error']}")
    sys.stdout.flush()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--_post":
        post_all(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=5000)
    parser.add_argument("--window-s", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=2, help="workers per host (one box: on host A)")
    parser.add_argument("--hosts", type=int, nargs="+", default=[0, 2],
                        help="configurations: 0 = one box, K = K worker hosts besides host A")
    parser.add_argument("--users", type=int, default=500, help="learners, each with an API token and a team")
    parser.add_argument("--arrivals", choices=["poisson", "uniform"], default="poisson")
    parser.add_argument("--page-load", action=argparse.BooleanOptionalAction, default=True,
                        help="read the challenge page and leaderboard with wrk meanwhile")
    parser.add_argument("--page-rps", type=float, default=20.0, help="wrk's page requests per second")
    parser.add_argument("--storage", choices=["database", "local"], default="database",
                        help="where files live; local on several hosts stands for a shared disk")
    parser.add_argument("--rows", type=int, default=1000, help="test rows of the challenge")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes of the web app")
    parser.add_argument("--post-threads", type=int, default=64)
    parser.add_argument("--drain-timeout-s", type=float, default=None,
                        help="how long to wait for the queue to drain after the last arrival "
                             "(default: one second per submission, at least 900)")
    args = parser.parse_args()
    if args.drain_timeout_s is None:
        args.drain_timeout_s = max(900.0, float(args.submissions))
    from tests.e2e.netns_hosts import missing_requirements

    problem = missing_requirements()
    if problem:
        raise SystemExit(f"cannot build the namespace hosts: {problem}")
    if args.submissions > 60 * args.users:
        print(f"note: {args.submissions / args.users:.0f} submissions per learner exceed the API's 60 per hour: "
              "expect 429s; raise --users", flush=True)
    if args.page_load and (problem := ensure_wrk()):
        raise SystemExit(problem)
    results = []
    for stale in Path(tempfile.gettempdir()).glob("heldout-rush-*"):  # what a crashed run left (and hosts: Network.up)
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="heldout-rush-"))
    try:
        for hosts in args.hosts:
            results.append(run_configuration(args, hosts, work))
    except BaseException:
        print(f"\nthe processes' logs are kept in {work}/logs-* (until the next run)", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)
    header = (f"{'configuration':<16}{'workers':>8}{'sent':>6}{'scored':>7}{'lost':>5}{'twice':>6}{'drain s':>8}"
              f"{'drain/s':>8}{'per s':>7}{'wait p50':>9}{'p95':>8}{'e2e p50':>8}{'p95':>8}{'page p50':>9}{'p95':>6}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        page = r["page"] if r["page"] and "error" not in r["page"] else {}
        print(f"{r['label']:<16}{r['workers']:>8}{r['submitted']:>6}{r['scored']:>7}{r['lost']:>5}"
              f"{r['scored_twice']:>6}"
              f"{_f(r['drain_s'], '.1f'):>8}{_f(r['drain_rate'], '.2f'):>8}{r['throughput']:>7.2f}"
              f"{_f(r['wait_p50'], '.2f'):>9}{_f(r['wait_p95'], '.2f'):>8}{_f(r['e2e_p50'], '.2f'):>8}"
              f"{_f(r['e2e_p95'], '.2f'):>8}{_f(page.get('p50_ms'), '.0f'):>9}{_f(page.get('p95_ms'), '.0f'):>6}")
    if any(r["lost"] or r["scored_twice"] or r["queue_left"] for r in results):
        raise SystemExit("lost, doubly scored or stranded submissions: see above")


if __name__ == "__main__":
    main()
