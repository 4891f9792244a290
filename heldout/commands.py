"""What each ``heldout`` sub-command does. Handlers take (settings, args) and return an exit code."""

from __future__ import annotations

import getpass
import logging
import sys
import threading
from pathlib import Path

from heldout.config import Settings, new_password
from heldout.db import make_engine, make_session_factory, session_scope
from heldout.startup import StartupError, check_database, check_redis, check_sandbox, check_storage

log = logging.getLogger(__name__)

DEMO_USERS = (("learner", "learner-password", False), ("organizer", "organizer-password", True))


def db_upgrade(settings: Settings, _args) -> int:  # noqa: ANN001
    from heldout.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    check_database(engine, require_schema=False)
    upgrade(engine)
    print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    return 0


def _sessions(settings: Settings):  # noqa: ANN202
    engine = make_engine(settings.database_url)
    check_database(engine)
    return make_session_factory(engine)


def _storage(settings: Settings):  # noqa: ANN202
    """The configured storage, checked: a bucket that is missing or refuses the credentials is one line."""
    from heldout.storage import make_storage

    storage = make_storage(settings)
    check_storage(storage)
    return storage


def challenges_validate(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.challenges.bundle import load_bundle
    from heldout.challenges.errors import BundleError, BundleErrors
    from heldout.runner.baseline import check_bundle_baseline

    sandbox = _baseline_sandbox(settings) if getattr(args, "run_baseline", False) else None
    status = 0
    for path in args.paths:
        report = None
        try:
            with load_bundle(path) as bundle:
                errors = []
                if sandbox is not None:
                    if bundle.baseline is None:
                        errors = [BundleError("--run-baseline: the bundle declares no baseline (script and score "
                                              "range)", "challenge.yaml", "baseline")]
                    else:
                        report = check_bundle_baseline(sandbox, bundle)
                        errors = report.errors
        except BundleErrors as exc:
            errors = exc.errors
        if errors:
            status = 1
            print(f"{path}: {len(errors)} problem(s)")
            for error in errors:
                print(f"  {error}")
        else:
            print(f"{path}: ok")
        if report is not None:
            _print_baseline(report)
    return status


def _baseline_sandbox(settings: Settings):  # noqa: ANN202
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.runtimes import sandbox_for

    try:
        return sandbox_for(settings)
    except SandboxUnavailable as exc:
        raise StartupError(f"--run-baseline needs a sandbox: {exc}") from None


def _print_baseline(report) -> None:  # noqa: ANN001
    def score(value) -> str:  # noqa: ANN001
        return "none (empty split)" if value is None else f"{value:.6g}"

    if report.public_score is not None or report.private_score is not None:
        print(f"  baseline: public score {score(report.public_score)}, private score {score(report.private_score)} "
              f"(stated range {report.score_min:g} to {report.score_max:g})"
              + (f", {report.run_s:.1f} s" if report.run_s else ""))
    if report.logs and not report.passed:
        print("  baseline log:")
        for line in report.logs.splitlines():
            print(f"    {line}")


def challenges_load(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.challenges.errors import BundleErrors
    from heldout.platform.services.publishing import load_challenge
    from heldout.runner.queue import connect_redis, scoring_queue

    sessions = _sessions(settings)
    storage = _storage(settings)
    queue = None if settings.embedded_queue else scoring_queue(connect_redis(settings.redis_url))
    status = 0
    for path in args.paths:
        try:
            with session_scope(sessions) as session:
                result = load_challenge(session, storage, queue, path, publish=not args.draft)
        except BundleErrors as exc:
            status = 1
            print(f"{path}: not loaded, {len(exc.errors)} problem(s)")
            for error in exc.errors:
                print(f"  {error}")
            continue
        print(f"{path}: {result.challenge_slug} {result.action}"
              + (f", {result.rescored} submission(s) queued for rescoring" if result.rescored else ""))
    return status


def _read_password(args) -> str:  # noqa: ANN001
    given = new_password()
    if given:
        return given
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise StartupError("the two passwords differ")
    return first


def users_create(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.platform.services.accounts import create_user
    from heldout.platform.services.errors import ServiceError

    sessions = _sessions(settings)
    with session_scope(sessions) as session:
        try:
            user = create_user(session, args.name, _read_password(args), is_admin=args.admin,
                               is_organizer=args.organizer)
        except ServiceError as exc:
            raise StartupError(f"{exc.field}: {exc.message}") from None
        print(f"created user {user.username}" + (" (admin)" if user.is_admin else ""))
    return 0


def tokens_create(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.platform.services.accounts import create_token, get_user
    from heldout.platform.services.errors import NotFound

    sessions = _sessions(settings)
    with session_scope(sessions) as session:
        try:
            user = get_user(session, args.name)
        except NotFound as exc:
            raise StartupError(exc.message) from None
        print(create_token(session, user, args.label))
    return 0


def storage_migrate(settings: Settings, args) -> int:  # noqa: ANN001
    """Copy every file from the configured storage (HELDOUT_STORAGE) to ``--to``, verifying each sha256.
    Resumable: a second run copies only what is missing. Exit 1 when a copy did not verify."""
    from heldout.storage import make_storage
    from heldout.storage.transfer import copy_all

    if args.to == settings.storage:
        raise StartupError(f"the files are already in {args.to} storage (HELDOUT_STORAGE={settings.storage}): "
                           "set HELDOUT_STORAGE to where they are now, and --to where they should go")
    if args.to == "s3" and settings.s3 is None:
        raise StartupError("--to s3 needs HELDOUT_S3_BUCKET (and HELDOUT_S3_ENDPOINT_URL unless it is AWS, "
                           "and the AWS_* credentials) for the bucket to copy into")
    if "database" in (settings.storage, args.to):
        check_database(make_engine(settings.database_url))  # the files' tables must exist
    source = _storage(settings)
    target_settings = settings.with_(storage=args.to)
    target = make_storage(target_settings)
    check_storage(target)

    def copied(key: str, size: int) -> None:
        if not args.quiet:
            print(f"copied {key} ({size:,} bytes)", flush=True)

    report = copy_all(source, target, on_copied=copied)
    for key, problem in report.failed:
        print(f"NOT COPIED {key}: {problem}", file=sys.stderr, flush=True)
    print(f"{settings.storage} -> {args.to}: copied {report.copied} file(s) ({report.copied_bytes:,} bytes), "
          f"{report.present} already there with the same sha256, {len(report.failed)} failed"
          + (" — run it again to retry them" if report.failed else ""), flush=True)
    return 1 if report.failed else 0


def worker(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.runner.context import RunnerContext
    from heldout.runner.queue import connect_redis
    from heldout.runner.worker import run_worker

    if settings.embedded_queue:
        raise StartupError("a separate worker needs Redis: set HELDOUT_REDIS_URL (the embedded queue runs "
                           "its worker inside 'heldout serve')")
    redis = connect_redis(settings.redis_url)
    check_redis(settings, redis)
    context = RunnerContext.from_settings(settings, redis=redis)
    check_database(make_engine(settings.database_url))
    check_storage(context.storage)
    backend = check_sandbox(settings)
    _announce(settings, f"worker scoring with the {backend}")
    run_worker(context, burst=args.burst, name=args.name)
    return 0


def workers_list(settings: Settings, args) -> int:  # noqa: ANN001
    """The scoring workers as they announced themselves: what the admins' workers page shows."""
    import json

    from tabulate import tabulate

    from heldout.platform.services.workers import list_workers

    with session_scope(_sessions(settings)) as session:
        listing = list_workers(session, include_silent=args.all)
    if args.json:
        print(json.dumps([w.to_dict() for w in listing.workers], indent=2))
        return 0
    rows = [(w.name, w.state, w.hostname, w.pid, w.sandbox_backend, w.version,
             w.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"), w.heartbeat_ago, w.jobs_done, w.jobs_errored,
             w.current_submission_id or "") for w in listing.workers]
    if rows:
        print(tabulate(rows, headers=["worker", "state", "host", "pid", "sandbox", "version", "started",
                                      "heartbeat", "done", "errors", "running"]))
    else:
        print("no worker has announced itself" + (" in the last day" if listing.hidden else ""))
    if listing.hidden:
        print(f"({listing.hidden} silent for more than a day not shown; --all shows them)")
    return 0


def health(settings: Settings, _args) -> int:  # noqa: ANN001
    """The checks ``heldout worker`` makes at start-up, again, for a container's or a monitor's health check:
    the database answers and is migrated, no worker on this host is hung (missed three heartbeats while its
    process lives), Redis answers (unless embedded), the storage answers, a sandbox works. Exit 0, or 1 with
    one line naming the first problem."""
    import socket

    from heldout.runner.queue import connect_redis
    from heldout.runner.registry import hung_workers
    from heldout.storage import make_storage

    engine = make_engine(settings.database_url)
    try:
        check_database(engine)
        with session_scope(make_session_factory(engine)) as session:
            hung = [(w.name, w.pid, w.last_heartbeat_at, w.heartbeat_s)
                    for w in hung_workers(session, socket.gethostname())]
    finally:
        engine.dispose()
    if hung:
        from heldout.models import utcnow

        name, pid, last, every = hung[0]
        raise StartupError(f"worker {name} (pid {pid}) is hung: its last heartbeat was "
                           f"{(utcnow() - last).total_seconds():.0f} s ago (it beats every {every} s) though its "
                           f"process is alive — restart it" + (f"; {len(hung) - 1} more hung" if len(hung) > 1 else ""))
    if not settings.embedded_queue:
        redis = connect_redis(settings.redis_url)
        try:
            check_redis(settings, redis)
        finally:
            redis.close()
    check_storage(make_storage(settings))
    backend = check_sandbox(settings)
    queue = "embedded queue" if settings.embedded_queue else "redis"
    print(f"ok: {engine.dialect.name} database up to date, {queue}, {settings.storage} storage, {backend}",
          flush=True)
    return 0


def serve(settings: Settings, args) -> int:  # noqa: ANN001
    check_database(make_engine(settings.database_url))
    _storage(settings)
    if settings.embedded_queue:
        return _serve_embedded(settings, args.host, args.port)
    from heldout.runner.queue import connect_redis

    check_redis(settings, connect_redis(settings.redis_url))
    _serve_gunicorn(settings, args.host, args.port, args.workers)
    return 0


def _serve_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from heldout.platform import create_app
    from heldout.platform.gunicorn_logs import logger_class

    class HeldoutServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("logger_class", logger_class(settings.log_format))
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")

        def load(self):  # noqa: ANN202
            return create_app(settings)

    HeldoutServer().run()


def _serve_embedded(settings: Settings, host: str, port: int, banner: str = "") -> int:
    """Web app on a thread, RQ worker on the main thread (it installs signal handlers), one fakeredis between them."""
    import fakeredis
    from werkzeug.serving import make_server

    from heldout.platform import create_app
    from heldout.runner.context import RunnerContext
    from heldout.runner.queue import connect_redis
    from heldout.runner.worker import run_worker

    backend = check_sandbox(settings)
    server = fakeredis.FakeServer()
    app = create_app(settings, redis=connect_redis(None, embedded_server=server))
    context = RunnerContext.from_settings(settings, redis=connect_redis(None, embedded_server=server))
    try:
        http = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror} — pick another port with --port") from None
    threading.Thread(target=http.serve_forever, name="heldout-web", daemon=True).start()
    _announce(settings, f"Heldout is serving on http://{host}:{port} (embedded queue, {backend})")
    if banner:
        _announce(settings, banner)
    try:
        run_worker(context)
    finally:
        http.shutdown()
    return 0


def demo(settings: Settings, args) -> int:  # noqa: ANN001
    from heldout.platform.services.accounts import create_user
    from heldout.platform.services.errors import Conflict

    db_upgrade(settings, args)
    bundles = sorted(p for p in Path(args.challenges).iterdir() if (p / "challenge.yaml").is_file()) \
        if Path(args.challenges).is_dir() else []
    if bundles:
        challenges_load(settings, argparse_namespace(paths=bundles, draft=False))
    sessions = _sessions(settings)
    for name, password, organizer in DEMO_USERS:
        with session_scope(sessions) as session:
            try:
                create_user(session, name, password, is_organizer=organizer, is_admin=organizer)
            except Conflict:
                pass
    banner = "Log in as " + " or ".join(f"{n} / {p}" for n, p, _ in DEMO_USERS) + ". Stop with Ctrl+C."
    if not settings.embedded_queue:
        raise StartupError("the demo runs on the embedded queue; unset HELDOUT_REDIS_URL "
                           "(for Redis, run 'heldout serve' and 'heldout worker')")
    return _serve_embedded(settings, args.host, args.port, banner=banner)


def _announce(settings: Settings, message: str) -> None:
    """A start-up line: printed for people, or logged as one JSON object like every other line."""
    if settings.log_format == "json":
        log.info(message)
    else:
        print(message, flush=True)


def argparse_namespace(**values):  # noqa: ANN201
    import argparse

    return argparse.Namespace(**values)
