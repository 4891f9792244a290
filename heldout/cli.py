"""The ``heldout`` command: server administration, the worker, the web server and the demo, and beside
them the client commands (``login``, ``challenges list|show``, ``download``, ``submit``, ``submissions``,
``logs``, ``leaderboard``, ``check``) that talk to a Heldout server over its API.

Admin handlers (``heldout.commands``) take ``(settings, args)``; client handlers
(``heldout.client.commands``) take ``args`` alone and never read the server's
settings, so they run anywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from heldout.config import STORAGE_KINDS, ConfigError, Settings
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
    """Every failure of a client command is one line on stderr that says what to do, and exit status 1."""
    from heldout.client.config import ClientError

    try:
        return int(args.handler(args) or 0)
    except ClientError as exc:
        print(f"heldout: {exc}", file=sys.stderr)
    except OSError as exc:  # a file the command reads or writes
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"heldout: {where}{exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line that points at the command's --help, rather than the usage text and the error."""

    def error(self, message: str):  # noqa: ANN201
        self.exit(2, f"{self.prog}: {message}; see '{self.prog} --help'\n")


def _client_command(sub, name: str, handler, help: str, *, output: bool = True,  # noqa: ANN001, A002
                    csv: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(handler=handler, client=True, format="table")
    if output:
        formats = p.add_mutually_exclusive_group()
        if csv:
            formats.add_argument("--csv", dest="format", action="store_const", const="csv", help="print CSV")
        formats.add_argument("--json", dest="format", action="store_const", const="json", help="print JSON")
    return p


def build_parser() -> argparse.ArgumentParser:
    from heldout import commands
    from heldout.client import commands as client

    parser = OneLineParser(prog="heldout", description="Heldout: practice ML competitions, self-hosted.")
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

    storage = sub.add_parser("storage", help="where files live (HELDOUT_STORAGE)").add_subparsers(metavar="ACTION")
    p = storage.add_parser("migrate", help="copy every stored file from the configured storage to another, "
                           "verifying each sha256; run it again to copy only what is still missing")
    p.add_argument("--to", required=True, choices=STORAGE_KINDS, help="the storage to copy into (s3 reads "
                   "HELDOUT_S3_*, database HELDOUT_DATABASE_URL, local HELDOUT_DATA_DIR/files)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary and any failure")
    p.set_defaults(handler=commands.storage_migrate)

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
    p = _client_command(sub, "submit", client.submit, "submit to a challenge: a predictions CSV, or for a code "
                        "challenge its entry point ('heldout challenges show SLUG' names it)")
    p.add_argument("slug")
    p.add_argument("file", help="a predictions CSV (optionally gzipped), or the challenge's entry point: a .py "
                   "file such as policy.py defining act() for reinforcement learning, or a .zip holding it")
    p.add_argument("-m", "--message", default="", help="a note to yourself")
    p.add_argument("--validation-score", metavar="SCORE", help="your own validation score of these predictions, "
                   "in the challenge's metric (e.g. 0.431): the site charts it against the board's")
    p.add_argument("--validation-note", metavar="TEXT", help="one line on how you validated (e.g. '5-fold CV')")
    p.add_argument("--wait", action="store_true", help="follow the submission until it is scored or fails; "
                   "the exit status is 1 if it fails")
    p.add_argument("--timeout", type=float, default=900, help="seconds --wait waits (default 900)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = _client_command(sub, "submissions", client.submissions, "your team's submissions to a challenge, with "
                        "links to their pages (--json adds the API's address)")
    p.add_argument("slug")
    p = _client_command(sub, "logs", client.logs, "what a code submission's run wrote that your team may read",
                        csv=False)
    p.add_argument("id", type=int, help="the submission's id (see 'heldout submissions SLUG')")
    p = _client_command(sub, "leaderboard", client.leaderboard, "a challenge's leaderboard")
    p.add_argument("slug")
    p.add_argument("--private", action="store_true", help="the private leaderboard (once revealed)")
    p = _client_command(sub, "check", client.check, "dry run: would this file be accepted? (uses no quota)")
    p.add_argument("slug")
    p.add_argument("file", help="what you would submit: a predictions CSV, or the challenge's entry point (.py "
                   "or .zip)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


if __name__ == "__main__":
    sys.exit(main())
