"""The `heldout` client commands against the app served over real HTTP on a thread: login, listing,
downloads that resume and verify checksums, dry runs, submissions, leaderboards, and the errors it prints."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import threading

import pytest
from sqlalchemy import select

from heldout.cli import main
from heldout.models import Challenge, Submission
from tests.api.conftest import SLUG
from tests.bundles import perfect_predictions


@pytest.fixture
def database_url(sqlite_only):
    # The client is what is tested here: one database is enough.
    return sqlite_only


def _set(svc, **values):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        for name, value in values.items():
            setattr(challenge, name, value)
        s.commit()


# --- login ---------------------------------------------------------------------------------------------------

def test_login_keeps_the_url_and_token_readable_by_the_owner_only(server, home, ada, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(ada.token + "\n"))
    assert main(["login", "--url", server + "/"]) == 0
    assert f"logged in to {server} as ada" in capsys.readouterr().out
    config = home / ".config" / "heldout" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f'url = "{server}"' in config.read_text() and ada.token in config.read_text()
    # From now on no environment is needed.
    assert main(["challenges", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_login_with_a_wrong_token_says_so_and_keeps_nothing(server, home, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("hld_wrong\n"))
    assert main(["login", "--url", server]) == 1
    assert "The API token is wrong or revoked" in capsys.readouterr().err
    assert not (home / ".config" / "heldout" / "config.toml").exists()


def test_without_a_server_the_client_says_how_to_configure_one(home, capsys):
    assert main(["submissions", SLUG]) == 1
    assert "heldout login --url URL" in capsys.readouterr().err


# --- reading -------------------------------------------------------------------------------------------------

def test_challenges_list_as_a_table_csv_and_json(heldout, tiny):
    status, table, _ = heldout("challenges", "list")
    assert status == 0 and "slug" in table.splitlines()[0] and SLUG in table
    _, as_csv, _ = heldout("challenges", "list", "--csv")
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [(r["slug"], r["metric"], r["phase"]) for r in rows] == [(SLUG, "rmse", "active")]
    _, as_json, _ = heldout("challenges", "list", "--json", "--search", "nothing-like-this")
    assert json.loads(as_json) == []


def test_challenges_show_prints_rules_and_files(heldout, tiny):
    status, out, _ = heldout("challenges", "show", SLUG)
    assert status == 0
    assert "submissions per day  5" in out and "train.csv" in out and "id, y" in out
    _, as_json, _ = heldout("challenges", "show", SLUG, "--json")
    assert json.loads(as_json)["rules"]["daily_limit"] == 5


def test_download_verifies_checksums_and_skips_what_is_current(heldout, tiny, tmp_path):
    target = tmp_path / "downloads"
    status, out, _ = heldout("download", SLUG, "-p", str(target))
    assert status == 0 and out.count("downloaded") == 3 and "sha256 verified" in out
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        assert (target / name).read_bytes() == (tiny / name).read_bytes()
    _, again, _ = heldout("download", SLUG, "-p", str(target))
    assert again.count("up to date") == 3


def test_an_interrupted_download_resumes_from_its_partial_file(heldout, tiny, tmp_path):
    target = tmp_path / "downloads"
    target.mkdir()
    content = (tiny / "train.csv").read_bytes()
    (target / "train.csv.part").write_bytes(content[:300])
    status, out, _ = heldout("download", SLUG, "-p", str(target))
    assert status == 0 and f"{target / 'train.csv'}: resumed" in out
    assert (target / "train.csv").read_bytes() == content and not (target / "train.csv.part").exists()


def test_a_corrupt_partial_file_fails_the_checksum_and_is_discarded(heldout, tiny, tmp_path):
    target = tmp_path / "downloads"
    target.mkdir()
    (target / "train.csv.part").write_bytes(b"x" * 300)
    status, _, err = heldout("download", SLUG, "-p", str(target))
    assert status == 1 and "does not match its checksum" in err
    assert not (target / "train.csv.part").exists()
    assert heldout("download", SLUG, "-p", str(target))[0] == 0
    assert hashlib.sha256((target / "train.csv").read_bytes()).hexdigest() == \
        hashlib.sha256((tiny / "train.csv").read_bytes()).hexdigest()


# --- checking and submitting ---------------------------------------------------------------------------------

def test_check_says_whether_a_file_would_be_accepted(heldout, tiny, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(perfect_predictions(tiny))
    bad.write_bytes(perfect_predictions(tiny).replace(b"\n41,", b"\n41,oops", 1))
    status, out, _ = heldout("check", SLUG, str(good))
    assert status == 0 and "40 rows" in out and "would be scored" in out
    status, out, _ = heldout("check", SLUG, str(bad))
    assert status == 1 and "not accepted" in out and "oops" in out
    status, out, _ = heldout("check", SLUG, str(bad), "--json")
    assert status == 1 and json.loads(out)["details"] == {"column": "y", "rows": [3]}


def test_submit_queues_the_file_and_submissions_lists_it(heldout, svc, tiny, tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    status, out, err = heldout("submit", SLUG, str(preds), "-m", "from the cli", "--json")
    assert status == 0 and json.loads(out)["status"] == "queued" and "queued" in err
    with svc.sessions() as s:
        stored = s.scalar(select(Submission))
        assert stored.message == "from the cli" and svc.storage.open(stored.file_key).read() == preds.read_bytes()
    _, listed, _ = heldout("submissions", SLUG, "--csv")
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert [(r["filename"], r["status"], r["message"]) for r in rows] == [("preds.csv", "queued", "from the cli")]


def test_submit_carries_a_validation_score_and_a_bad_one_is_refused_by_its_field(heldout, svc, tiny, tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    status, out, err = heldout("submit", SLUG, str(preds), "--validation-score", "0.431", "--validation-note",
                               "5-fold CV", "--json")
    assert status == 0 and json.loads(out)["validation_score"] == 0.431
    status, _, err = heldout("submit", SLUG, str(preds), "--validation-score", "nan")
    assert status == 1 and "validation_score must be a finite number" in err
    with svc.sessions() as s:
        stored = s.scalars(select(Submission)).all()
        assert [(x.validation_score, x.validation_note) for x in stored] == [(0.431, "5-fold CV")]
    _, listed, _ = heldout("submissions", SLUG, "--csv")
    assert [r["validation_score"] for r in csv.DictReader(io.StringIO(listed))] == ["0.431"]


def test_a_hosts_submissions_say_host(heldout, svc, tiny, tmp_path):
    from heldout.models import User

    with svc.sessions() as s:
        s.scalar(select(User).where(User.username == "ada")).is_admin = True
        s.commit()
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    heldout("submit", SLUG, str(preds))
    _, listed, _ = heldout("submissions", SLUG, "--csv")
    assert [r["host"] for r in csv.DictReader(io.StringIO(listed))] == ["True"]
    _, table, _ = heldout("submissions", SLUG)
    header, _rule, row = table.splitlines()
    assert "host" in header.split() and "host" in row.split()


def test_submissions_link_to_their_pages_and_only_json_carries_the_api_address(heldout, server, tiny, tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    _, out, err = heldout("submit", SLUG, str(preds), "--json")
    sid = json.loads(out)["id"]
    page, api = f"{server}/submissions/{sid}", f"{server}/api/v1/submissions/{sid}"
    assert f"queued: {page}" in err
    status, table, _ = heldout("submissions", SLUG)
    assert status == 0 and page in table and "/api/" not in table
    _, as_csv, _ = heldout("submissions", SLUG, "--csv")
    assert [row["html_url"] for row in csv.DictReader(io.StringIO(as_csv))] == [page] and "/api/" not in as_csv
    _, as_json, _ = heldout("submissions", SLUG, "--json")
    [record] = json.loads(as_json)
    assert (record["url"], record["html_url"], record["filename"]) == (api, page, "preds.csv")


def test_logs_prints_the_logs_the_api_gives_the_team(heldout, svc, tiny, tmp_path):
    from heldout.models import SubmissionStatus

    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    first = json.loads(heldout("submit", SLUG, str(preds), "--json")[1])["id"]
    second = json.loads(heldout("submit", SLUG, str(preds), "--json")[1])["id"]
    written = "reading /data/test.csv\nTraceback (most recent call last):\nValueError: no column 'x'\n"
    with svc.sessions() as s:
        row = s.get(Submission, first)
        row.status, row.logs, row.error = SubmissionStatus.FAILED, written, "predict.py exited with status 1"
        s.commit()
    status, out, err = heldout("logs", str(first))
    assert (status, out, err) == (0, written, "")
    _, as_json, _ = heldout("logs", str(first), "--json")
    assert json.loads(as_json)["logs"] == written and json.loads(as_json)["challenge"] == SLUG
    status, out, err = heldout("logs", str(second))
    assert status == 0 and out == "" and f"is queued: its logs appear once it has run" in err
    assert f"'heldout submissions {SLUG}'" in err


def test_submit_wait_gives_up_after_its_timeout(heldout, tiny, tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    status, _, err = heldout("submit", SLUG, str(preds), "--wait", "--timeout", "0.5")
    assert status == 3 and "still queued" in err


def test_submit_wait_says_where_the_team_stands(heldout, svc, tiny, tmp_path):
    from heldout.leaderboard.best import refresh_team_best
    from heldout.models import SubmissionStatus

    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    stop = threading.Event()

    def score_what_arrives():  # a stand-in for the worker: scores each queued submission 0.25
        while not stop.wait(0.1):
            with svc.sessions() as s:
                for queued in s.scalars(select(Submission).where(Submission.status == SubmissionStatus.QUEUED)):
                    queued.status, queued.public_score = SubmissionStatus.SCORED, 0.25
                    s.flush()
                    refresh_team_best(s, queued.challenge_id, queued.team_id)
                s.commit()

    scorer = threading.Thread(target=score_what_arrives, daemon=True)
    scorer.start()
    try:
        status, out, _ = heldout("submit", SLUG, str(preds), "--wait", "--timeout", "30")
    finally:
        stop.set()
        scorer.join(timeout=5)
    assert status == 0, out
    assert "where you stand: #1 of 1 teams on the public leaderboard; your team's first score" in out
    assert f"leaderboard: http://127.0.0.1:" in out and f"/c/{SLUG}/leaderboard#my-team" in out


def test_the_leaderboard_prints_csv_for_pipelines(heldout, tiny):
    status, out, _ = heldout("leaderboard", SLUG, "--csv")
    assert status == 0 and out.splitlines() == ["rank,team,score,entries,last_entry_at"]
    status, _, err = heldout("leaderboard", SLUG, "--private")
    assert status == 1 and "private leaderboard is hidden" in err


# --- the documented errors, one line each --------------------------------------------------------------------

def test_refusals_print_the_servers_message(heldout, svc, tiny, tmp_path, monkeypatch):
    from datetime import timedelta

    from heldout.models import utcnow

    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    _set(svc, daily_limit=1)
    assert heldout("submit", SLUG, str(preds))[0] == 0
    status, _, err = heldout("submit", SLUG, str(preds))
    assert status == 1 and "used all 1 submissions for today" in err
    # When the count resets, in UTC, and how long that is, in hours and minutes; never "70108 seconds".
    assert re.search(r"resets at 00:00 UTC on \d{4}-\d\d-\d\d, in \d+ (hours?|minutes?|seconds?)( \d+ minutes?)?\.$",
                     err.strip()) and "seconds." not in err.replace("1 seconds", "")

    _set(svc, daily_limit=5, ends_at=utcnow() - timedelta(hours=1), late_submissions=False)
    assert "closed for submissions at" in heldout("submit", SLUG, str(preds))[2]
    assert "does not take late submissions" in heldout("submit", SLUG, str(preds))[2]

    _set(svc, ends_at=None, late_submissions=True)
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        challenge.scoring_spec = {**challenge.scoring_spec, "max_bytes": 100}
        s.commit()
    status, _, err = heldout("submit", SLUG, str(preds))
    assert status == 1 and "larger than this challenge's limit of 100 bytes" in err

    monkeypatch.setenv("HELDOUT_TOKEN", "hld_wrong")
    status, _, err = heldout("submissions", SLUG)
    assert status == 1 and err.startswith("heldout: The API token is wrong or revoked")


@pytest.mark.parametrize(("args", "what_to_do"), [
    (["challenges", "show", "no-such-challenge"], "See the challenges' slugs with 'heldout challenges list'."),
    (["download", "no-such-challenge"], "'heldout challenges list'"),
    (["logs", "424242"], "See your submissions' ids with 'heldout submissions SLUG'."),
    (["submit", SLUG, "no-such-file.csv"], "give the path of the file to send"),
    (["leaderboard", SLUG, "--private"], "hidden until the challenge ends"),
    (["submit", SLUG], "see 'heldout submit --help'"),
    (["logs", "not-a-number"], "see 'heldout logs --help'"),
])
def test_every_error_is_one_line_that_says_what_to_do(heldout, tiny, args, what_to_do):
    status, out, err = heldout(*args)
    assert status in (1, 2) and out == ""
    assert err.count("\n") == 1 and err.startswith("heldout") and what_to_do in err, err


def test_a_wrong_token_says_how_to_log_in_again(heldout, tiny, monkeypatch):
    monkeypatch.setenv("HELDOUT_TOKEN", "hld_wrong")
    status, _, err = heldout("submissions", SLUG)
    assert status == 1 and err.count("\n") == 1
    assert "create a new one on your account page" in err and "run 'heldout login --url URL'" in err


def test_an_unreachable_server_is_one_line(home, monkeypatch, capsys):
    monkeypatch.setenv("HELDOUT_URL", "http://127.0.0.1:1")
    assert main(["challenges", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach Heldout at http://127.0.0.1:1" in err
    assert "check the address ('heldout login --url URL' or HELDOUT_URL) and that the server is running" in err


def test_the_client_reads_no_server_settings(home, monkeypatch, tmp_path, capsys):
    # A malformed server variable must not stop a client command, and no instance/ directory appears.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELDOUT_SANDBOX", "not-a-sandbox")
    monkeypatch.setenv("HELDOUT_URL", "http://127.0.0.1:1")
    main(["challenges", "list"])
    assert "HELDOUT_SANDBOX" not in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "instance")


def test_a_worse_submission_says_where_it_would_have_ranked():
    from heldout.client.output import describe_standing

    lines = describe_standing({"rank": 3, "holds_row": False, "teams": 4, "team_rank": 2, "score": 0.72,
                               "previous_best": 0.85, "change": -0.13, "improved": False,
                               "leaderboard_url": "http://x/c/s/leaderboard#my-team"})
    assert lines == ["where you stand: your team stays #2 (another submission is its best); were this one its best: "
                     "#3 of 4; 0.13000 worse than your team's previous best (0.85000)",
                     "leaderboard: http://x/c/s/leaderboard#my-team"]
