"""What each client sub-command of ``heldout`` does. Handlers take the parsed args and return an exit code.

Results go to stdout (table, CSV or JSON); progress and notes go to stderr.
"""

from __future__ import annotations

import functools
import getpass
import sys
import time
from collections.abc import Callable
from pathlib import Path

from heldout.client.config import ClientConfig, ClientError, load_config, normalise_url, save_config, token_from_env
from heldout.client.http import ApiError, HeldoutClient
from heldout.client.output import (
    Column,
    describe_placing,
    describe_standing,
    host,
    late,
    print_json,
    print_record,
    print_rows,
    score,
    when,
)

FINISHED = ("scored", "failed", "error")

CHALLENGE_COLUMNS = [Column("slug", "slug"), Column("title", "title"), Column("metric", "metric"),
                     Column("phase", "phase"), Column("ends_at", "ends", when), Column("team_count", "teams"),
                     Column("difficulty", "difficulty")]
SUBMISSION_COLUMNS = [Column("id", "id"), Column("created_at", "submitted", when), Column("filename", "file"),
                      Column("status", "status"), Column("public_score", "public", score),
                      Column("private_score", "private", score), Column("validation_score", "validation", score),
                      Column("selected_final", "final"),
                      Column("host", "host", host), Column("late", "late", late), Column("message", "message"),
                      Column("error", "error"),
                      Column("html_url", "page")]
LEADERBOARD_COLUMNS = [Column("rank", "rank"), Column("team", "team"), Column("score", "score", score),
                       Column("entries", "entries"), Column("last_entry_at", "last entry", when)]
CHALLENGE_FIELDS = [Column("slug", "slug"), Column("title", "title"), Column("summary", "summary"),
                    Column("metric", "metric"), Column("greater_is_better", "higher is better"),
                    Column("kind", "kind"), Column("phase", "phase"), Column("starts_at", "opens", when),
                    Column("ends_at", "closes", when), Column("daily_limit", "submissions per day"),
                    Column("remaining_today", "left today"), Column("max_team_size", "team size"),
                    Column("what_to_submit", "submit"), Column("submission_columns", "columns", ", ".join),
                    Column("my_team", "your team")]
FILE_COLUMNS = [Column("name", "file"), Column("size", "bytes"), Column("sha256", "sha256")]
SUBMISSION_FIELDS = [Column("id", "id"), Column("challenge", "challenge"), Column("status", "status"),
                     Column("host", "host submission (never ranked)", host),
                     Column("late", "late submission (never ranked)", late),
                     Column("public_score", "public score", score), Column("private_score", "private score", score),
                     Column("validation_score", "validation score", score), Column("error", "error"),
                     Column("queue_position", "queue position"),
                     Column("run_s", "run seconds"), Column("html_url", "page")]


def _client(args, *, token_required: bool = True) -> HeldoutClient:  # noqa: ANN001
    config = load_config()
    if token_required and not config.token:
        raise ClientError("no API token: run 'heldout login --url URL' or set HELDOUT_TOKEN")
    return HeldoutClient(config.url, config.token, quiet=getattr(args, "quiet", False))


def _if_not_found(hint: str) -> Callable:
    """A handler whose "not found" from the server is followed by where the user finds what exists."""
    def wrap(handler: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(handler)
        def run(args) -> int:  # noqa: ANN001
            try:
                return handler(args)
            except ApiError as exc:
                if exc.code == "not_found":
                    raise ClientError(f"{exc} {hint}") from None
                raise
        return run
    return wrap


CHALLENGES_HINT = "See the challenges' slugs with 'heldout challenges list'."
SUBMISSIONS_HINT = "See your submissions' ids with 'heldout submissions SLUG'."


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def login(args) -> int:  # noqa: ANN001
    url = normalise_url(args.url)
    token = token_from_env()
    if not token:
        token = getpass.getpass("API token: ") if sys.stdin.isatty() else sys.stdin.readline()
    token = token.strip()
    if not token:
        raise ClientError("no token given: create one on your account page, then paste it here")
    me = HeldoutClient(url, token).get("/me")
    path = save_config(ClientConfig(url=url, token=token))
    print(f"logged in to {url} as {me['username']} (token kept in {path})")
    return 0


def challenges_list(args) -> int:  # noqa: ANN001
    client = _client(args, token_required=False)
    rows = list(client.pages("/challenges", "challenges", search=args.search, tag=args.tag, phase=args.phase,
                             per_page=100))
    print_rows(rows, CHALLENGE_COLUMNS, args.format, empty="no challenges")
    return 0


@_if_not_found(CHALLENGES_HINT)
def challenges_show(args) -> int:  # noqa: ANN001
    challenge = _client(args, token_required=False).get(f"/challenges/{args.slug}")
    print_record(challenge, CHALLENGE_FIELDS, args.format)
    if args.format == "table":
        print()
        print_rows(challenge["files"], FILE_COLUMNS, "table", empty="no data files")
    return 0


@_if_not_found(CHALLENGES_HINT)
def download(args) -> int:  # noqa: ANN001
    client = _client(args, token_required=False)
    challenge = client.get(f"/challenges/{args.slug}")
    target_dir = Path(args.path)
    for file in challenge["files"]:
        target = target_dir / file["name"]
        if args.force:
            target.unlink(missing_ok=True)
        outcome = client.download(file["url"], target, size=file["size"], sha256=file["sha256"])
        print(f"{target}: {outcome} ({file['size']:,} bytes, sha256 verified)")
    return 0


@_if_not_found(CHALLENGES_HINT)
def submit(args) -> int:  # noqa: ANN001
    client = _client(args)
    path = _existing_file(args.file)
    fields = {"message": args.message or ""}
    # Sent as typed: the server checks them (a number, one line) and names the field at fault.
    if args.validation_score is not None:
        fields["validation_score"] = args.validation_score
    if args.validation_note is not None:
        fields["validation_note"] = args.validation_note
    submission = client.upload(f"/challenges/{args.slug}/submissions", path, fields).json()
    _note(f"submission {submission['id']} queued: {submission.get('html_url') or submission['url']}")
    if not args.wait:
        print_record(submission, SUBMISSION_FIELDS, args.format)
        return 0
    submission = _follow(client, submission["url"], args.timeout)
    print_record(submission, SUBMISSION_FIELDS, args.format)
    if submission["status"] == "scored":
        if args.format == "table" and submission.get("standing"):
            print("\n".join(describe_standing(submission["standing"])))
        if args.format == "table" and submission.get("would_have_placed"):
            print("\n".join(describe_placing(submission["would_have_placed"])))
        return 0
    if submission["status"] in FINISHED:
        error = " ".join(str(submission.get("error") or "no reason given").split())
        _note(f"heldout: submission {submission['id']} {submission['status']}: {error}; "
              f"see 'heldout logs {submission['id']}' and {submission.get('html_url') or submission['url']}")
        return 1
    _note(f"heldout: submission {submission['id']} is still {submission['status']} after {args.timeout} seconds; "
          f"follow it with 'heldout submissions {args.slug}'")
    return 3


def _follow(client: HeldoutClient, url: str, timeout_s: float) -> dict:
    """Poll the submission until it finishes or ``timeout_s`` passes, saying when its status changes."""
    deadline = time.monotonic() + timeout_s
    delay, last = 0.5, None
    while True:
        submission = client.get(url)
        if submission["status"] != last:
            last = submission["status"]
            position = submission.get("queue_position")
            _note(f"  {last}" + (f" (number {position} in the queue)" if position else ""))
        if submission["status"] in FINISHED or time.monotonic() >= deadline:
            return submission
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)


@_if_not_found(CHALLENGES_HINT)
def submissions(args) -> int:  # noqa: ANN001
    """A table with each submission's web page; ``--json`` gives the API's whole records (with ``url``)."""
    client = _client(args)
    rows = list(client.pages(f"/challenges/{args.slug}/submissions", "submissions", per_page=100))
    if args.format == "json":
        print_json(rows)
    else:
        print_rows(rows, SUBMISSION_COLUMNS, args.format,
                   empty=f"no submissions yet: submit with 'heldout submit {args.slug} FILE'")
    return 0


@_if_not_found(SUBMISSIONS_HINT)
def logs(args) -> int:  # noqa: ANN001
    """Print what the submission's code wrote that its team may read, as the submission page shows it."""
    body = _client(args).get(f"/submissions/{args.id}/logs")
    if args.format == "json":
        print_json(body)
        return 0
    if body.get("logs"):
        text = body["logs"]
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    elif body["status"] in ("queued", "running"):
        _note(f"submission {body['id']} is {body['status']}: its logs appear once it has run "
              f"(follow it with 'heldout submissions {body['challenge']}')")
    else:
        _note(f"submission {body['id']} has no logs to show: a predictions file has none, and code shows only what "
              f"its run on the public example data printed ({body.get('html_url', '')})")
    return 0


@_if_not_found(CHALLENGES_HINT)
def leaderboard(args) -> int:  # noqa: ANN001
    client = _client(args, token_required=False)
    rows = list(client.pages(f"/challenges/{args.slug}/leaderboard", "leaderboard",
                             private="true" if args.private else None, per_page=100))
    print_rows(rows, LEADERBOARD_COLUMNS, args.format, empty="nobody is on the leaderboard yet")
    return 0


@_if_not_found(CHALLENGES_HINT)
def check(args) -> int:  # noqa: ANN001
    client = _client(args)
    path = _existing_file(args.file)
    result = client.upload(f"/challenges/{args.slug}/check", path, {}).json()
    if args.format == "json":
        print_record(result, [], "json")
        return 0 if result["ok"] else 1
    # Code: what its visible run printed (the code on the public example data).
    logs = result.get("logs") if result["ok"] else (result.get("details") or {}).get("logs")
    if logs:
        print(f"--- what {path.name} printed ---\n{logs.rstrip()}\n---")
    if result["ok"]:
        print(f"{path.name}: {result['message']}")
    else:
        print(f"{path.name}: not accepted: {result['message']}")
    return 0 if result["ok"] else 1


def _existing_file(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise ClientError(f"{name}: no such file; give the path of the file to send")
    return path
