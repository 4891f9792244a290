"""The ``heldout`` command: server administration, the worker, the web server and the demo, and beside
them the client commands (``login``, ``challenges list|show``, ``download``, ``submit``, ``submissions``,
``leaderboard``, ``check``) that talk to a Heldout server over its API.

Admin handlers (``heldout.commands``) take ``(settings, args)``; client handlers
(``heldout.client.commands``) take ``args`` alone and never read the server's
settings, so they run anywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from heldout.config import ConfigError, Settings
from heldout.logs import configure_logging
from heldout.startup import StartupError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    if getattr(args, "client", False):
        return _run_client(args)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_format)  # HELDOUT_LOG_FORMAT: text, or one JSON object per line
        return int(args.handler(settings, args) or 0)
    except (ConfigError, StartupError) as exc:
        print(f"heldout: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run_client(args: argparse.Namespace) -> int:
    from heldout.client.config import ClientError

    try:
        return int(args.handler(args) or 0)
    except ClientError as exc:
        print(f"heldout: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _client_command(sub, name: str, handler, help: str, *, output: bool = True) -> argparse.ArgumentParser:  # noqa: ANN001, A002
    p = sub.add_parser(name, help=help)
    p.set_defaults(handler=handler, client=True, format="table")
    if output:
        formats = p.add_mutually_exclusive_group()
        formats.add_argument("--csv", dest="format", action="store_const", const="csv", help="print CSV")
        formats.add_argument("--json", dest="format", action="store_const", const="json", help="print JSON")
    return p


def build_parser() -> argparse.ArgumentParser:
    from heldout import commands
    from heldout.client import commands as client

    parser = argparse.ArgumentParser(prog="heldout", description="Heldout: practice ML competitions, self-hosted.")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    p = db.add_parser("upgrade", help="apply pending migrations")
    p.set_defaults(handler=commands.db_upgrade)

    ch = sub.add_parser("challenges", help="load and validate bundles (admin); list and show (client)"
                        ).add_subparsers(metavar="ACTION")
    p = ch.add_parser("load", help="load (or update) a challenge from a bundle directory or zip")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--draft", action="store_true", help="load unpublished")
    p.set_defaults(handler=commands.challenges_load)
    p = ch.add_parser("validate", help="check a bundle and print what is wrong; stores nothing")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--run-baseline", action="store_true",
                   help="also run the bundle's baseline in the sandbox (as the organizer's upload does), print "
                        "its public and private scores, and fail if either is outside baseline.score")
    p.set_defaults(handler=commands.challenges_validate)
    p = _client_command(ch, "list", client.challenges_list, "list the server's challenges (client)")
    p.add_argument("--search", help="words that must all appear in the slug, title, summary or tags")
    p.add_argument("--tag")
    p.add_argument("--phase", choices=["upcoming", "active", "closed"])
    p = _client_command(ch, "show", client.challenges_show, "a challenge's rules, timeline and files (client)")
    p.add_argument("slug")

    users = sub.add_parser("users", help="accounts").add_subparsers(metavar="ACTION")
    p = users.add_parser("create", help="create a user (asks for the password, or reads HELDOUT_NEW_PASSWORD)")
    p.add_argument("name")
    p.add_argument("--admin", action="store_true")
    p.add_argument("--organizer", action="store_true")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(handler=commands.users_create)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(metavar="ACTION")
    p = tokens.add_parser("create", help="create an API token for a user and print it once")
    p.add_argument("name", help="the user's name")
    p.add_argument("--label", default="cli")
    p.set_defaults(handler=commands.tokens_create)

    p = sub.add_parser("worker", help="score submissions from the queue")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument("--name")
    p.set_defaults(handler=commands.worker)

    p = sub.add_parser("workers", help="list the scoring workers: state, host, sandbox, last heartbeat, jobs done")
    p.add_argument("--all", action="store_true", help="include workers silent for more than a day")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=commands.workers_list)

    p = sub.add_parser("health", help="check the database, Redis and the sandbox as a starting worker does "
                       "(exit 0, or 1 and the problem): a health check for worker containers")
    p.set_defaults(handler=commands.health)

    p = sub.add_parser("serve", help="serve the web app (with an embedded worker when no Redis is configured)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (Redis mode)")
    p.set_defaults(handler=commands.serve)

    p = sub.add_parser("demo", help="migrate, load the shipped challenges, create demo users, serve and score")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--challenges", type=Path, default=Path("challenges"))
    p.set_defaults(handler=commands.demo)

    # -- the client: talks to a server over its API --
    p = _client_command(sub, "login", client.login, "keep a server URL and API token for the client commands",
                        output=False)
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:5000")
    p = _client_command(sub, "download", client.download, "download a challenge's data files (resumable, "
                        "checksums verified)", output=False)
    p.add_argument("slug")
    p.add_argument("-p", "--path", default=".", help="the directory to put them in (default: here)")
    p.add_argument("--force", action="store_true", help="download again even when up to date")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = _client_command(sub, "submit", client.submit, "submit a predictions file (or code) to a challenge")
    p.add_argument("slug")
    p.add_argument("file")
    p.add_argument("-m", "--message", default="", help="a note to yourself")
    p.add_argument("--wait", action="store_true", help="follow the submission until it is scored or fails; "
                   "the exit status is 1 if it fails")
    p.add_argument("--timeout", type=float, default=900, help="seconds --wait waits (default 900)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = _client_command(sub, "submissions", client.submissions, "your team's submissions to a challenge")
    p.add_argument("slug")
    p = _client_command(sub, "leaderboard", client.leaderboard, "a challenge's leaderboard")
    p.add_argument("slug")
    p.add_argument("--private", action="store_true", help="the private leaderboard (once revealed)")
    p = _client_command(sub, "check", client.check, "dry run: would this file be accepted? (uses no quota)")
    p.add_argument("slug")
    p.add_argument("file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


if __name__ == "__main__":
    sys.exit(main())
