"""Both command-line clients against real parts: `heldout serve` (gunicorn) and `heldout worker` as
processes, real Redis and PostgreSQL, the Docker sandbox. The `heldout` client and the unmodified
`kaggle` CLI (reaching Heldout through HTTP_PROXY) each download, submit, see the submission scored and
ranked, and print Heldout's own message when a submission is refused."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from tests.bundles import perfect_predictions, write_tiny_bundle
from tests.e2e import test_end_to_end as e2e

pytestmark = pytest.mark.e2e
SLUG = "tiny-regression"
KAGGLE = str(Path(sys.executable).with_name("kaggle"))
# The tiny challenge with room for the tests' submissions, and a size limit small enough to break.
DAILY_LIMIT = 3
MAX_BYTES = 2000
# The daily-limit message, whole: the limit, and when the count resets in UTC and in hours and minutes.
RESETS = (rf"Your team has used all {DAILY_LIMIT} submissions for today; the count resets at 00:00 UTC on "
          r"\d{4}-\d\d-\d\d, in \d+ (hours?|minutes?|seconds?)( \d+ minutes?)?\.")

stack = e2e.stack  # the server and worker processes, reused from the page-driven end-to-end test


@pytest.fixture
def served(stack, tmp_path):
    """A running server and worker with the tiny challenge, and learners 'ada' and 'grace' with API tokens."""
    bundle = write_tiny_bundle(tmp_path / "bundle", daily_limit=DAILY_LIMIT)
    with open(bundle / "challenge.yaml", "a") as yaml:
        yaml.write(f"  max_submission_bytes: {MAX_BYTES}\n")
    stack.run("db", "upgrade")
    stack.run("challenges", "load", str(bundle))
    stack.env["HELDOUT_NEW_PASSWORD"] = "correct horse"
    tokens = {}
    for name in ("ada", "grace"):
        stack.run("users", "create", name)
        tokens[name] = stack.run("tokens", "create", name).strip()
    port = e2e._free_port()
    stack.start("web", "serve", "--port", str(port), "--workers", "1")
    stack.start("worker", "worker", "--name", f"clients-{port}")
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            # /healthz asks Docker too, which can take seconds on a busy machine.
            return requests.get(f"{base}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    e2e._wait_for(healthy, 30, "the server's /healthz", stack)
    files = tmp_path / "files"
    files.mkdir()
    (files / "preds.csv").write_bytes(perfect_predictions(bundle))
    (files / "short.csv").write_bytes(b"id,y\n40,1.0\n")
    (files / "huge.csv").write_bytes(perfect_predictions(bundle) * 5)
    return {"base": base, "port": port, "tokens": tokens, "files": files, "bundle": bundle}


def _client_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HELDOUT_", "KAGGLE_")) and k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), **extra)
    return env


def _run(argv: list[str], env: dict, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, cwd=cwd, input=input, capture_output=True, text=True, timeout=120)


def test_both_clients_download_submit_and_see_the_score(served, stack, tmp_path):
    # One server for both clients: starting one costs more than either client's whole run.
    _heldout_client_as_ada(served, stack, tmp_path / "heldout")
    _kaggle_cli_as_grace(served, stack, tmp_path / "kaggle")


def _heldout_client_as_ada(served, stack, tmp_path: Path) -> None:
    tmp_path.mkdir()
    env = _client_env(tmp_path)
    files = served["files"]

    def heldout(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return _run(e2e.HELDOUT + list(args), env, tmp_path, input)

    login = heldout("login", "--url", served["base"], input=served["tokens"]["ada"] + "\n")
    assert login.returncode == 0 and "as ada" in login.stdout, login.stderr
    listed = heldout("challenges", "list", "--csv")
    assert [row["slug"] for row in csv.DictReader(io.StringIO(listed.stdout))] == [SLUG]
    download = heldout("download", SLUG, "-p", str(tmp_path / "data"))
    assert download.returncode == 0 and download.stdout.count("sha256 verified") == 3
    assert (tmp_path / "data" / "train.csv").read_bytes() == (served["bundle"] / "train.csv").read_bytes()
    assert heldout("check", SLUG, str(files / "preds.csv")).returncode == 0

    scored = heldout("submit", SLUG, str(files / "preds.csv"), "-m", "perfect", "--wait", "--timeout", "90", "--json")
    assert scored.returncode == 0, scored.stderr + stack.logs()
    assert json.loads(scored.stdout)["public_score"] == pytest.approx(0.0, abs=1e-9)
    failed = heldout("submit", SLUG, str(files / "short.csv"), "--wait", "--timeout", "90")
    assert failed.returncode == 1 and "missing" in failed.stderr, failed.stderr
    board = heldout("leaderboard", SLUG, "--csv")
    assert [(r["rank"], r["team"], float(r["score"])) for r in csv.DictReader(io.StringIO(board.stdout))] == [
        ("1", "ada", 0.0)]
    listed = heldout("submissions", SLUG)
    sid = json.loads(scored.stdout)["id"]
    assert f"{served['base']}/submissions/{sid}" in listed.stdout and "/api/" not in listed.stdout, listed.stdout
    logs = heldout("logs", str(sid))
    assert logs.returncode == 0 and "has no logs to show: a predictions file has none" in logs.stderr, logs.stderr

    oversize = heldout("submit", SLUG, str(files / "huge.csv"))
    assert oversize.returncode == 1 and f"limit of {MAX_BYTES:,} bytes" in oversize.stderr
    assert heldout("submit", SLUG, str(files / "preds.csv")).returncode == 0
    assert heldout("submit", SLUG, str(files / "preds.csv")).returncode == 0
    over_quota = heldout("submit", SLUG, str(files / "preds.csv"))
    assert over_quota.returncode == 1 and f"used all {DAILY_LIMIT} submissions for today" in over_quota.stderr
    assert re.fullmatch(RESETS, over_quota.stderr.strip().removeprefix("heldout: ")), over_quota.stderr


def _kaggle_cli_as_grace(served, stack, tmp_path: Path) -> None:
    tmp_path.mkdir()
    env = _client_env(tmp_path, KAGGLE_USERNAME="grace", KAGGLE_KEY=served["tokens"]["grace"],
                      KAGGLE_API_ENVIRONMENT="LOCALHOST",
                      HTTP_PROXY=f"http://127.0.0.1:{served['port']}", NO_PROXY="", no_proxy="")
    files = served["files"]

    def kaggle(*args: str, **extra) -> subprocess.CompletedProcess:
        return _run([KAGGLE, "competitions", *args], {**env, **extra}, tmp_path)

    listed = kaggle("list")
    assert listed.returncode == 0 and SLUG in listed.stdout, listed.stdout + listed.stderr
    listed_files = kaggle("files", "-c", SLUG)
    assert all(name in listed_files.stdout for name in ("train.csv", "test.csv", "sample_submission.csv"))
    download = kaggle("download", "-c", SLUG, "-p", str(tmp_path / "data"))
    assert download.returncode == 0, download.stdout + download.stderr
    with zipfile.ZipFile(tmp_path / "data" / f"{SLUG}.zip") as archive:
        assert archive.read("train.csv") == (served["bundle"] / "train.csv").read_bytes()

    submit = kaggle("submit", "-c", SLUG, "-f", str(files / "preds.csv"), "-m", "perfect via kaggle")
    assert submit.returncode == 0 and "Successfully submitted to Tiny regression" in submit.stdout, \
        submit.stdout + submit.stderr
    assert f"{DAILY_LIMIT - 1} submissions remaining today" in submit.stdout

    def scored():
        out = kaggle("submissions", "-c", SLUG).stdout
        return out if "COMPLETE" in out or "ERROR" in out else None

    submissions = e2e._wait_for(scored, 90, "the Kaggle submission to be scored", stack)
    assert "perfect via kaggle" in submissions and "SubmissionStatus.COMPLETE" in submissions
    assert "0.00000" in submissions
    board = kaggle("leaderboard", "-c", SLUG, "--show", "--csv")
    rows = list(csv.DictReader(io.StringIO(board.stdout)))
    assert board.returncode == 0 and {r["teamName"] for r in rows} == {"grace", "ada"}, board.stdout
    # Each team's real id, not the client's default of 0.
    assert len({r["teamId"] for r in rows}) == 2 and all(int(r["teamId"]) > 0 for r in rows)
    downloaded = kaggle("leaderboard", "-c", SLUG, "--download", "-p", str(tmp_path / "board"))
    assert downloaded.returncode == 0, downloaded.stdout + downloaded.stderr
    with zipfile.ZipFile(tmp_path / "board" / f"{SLUG}.zip") as archive:
        whole = list(csv.DictReader(io.StringIO(archive.read(f"{SLUG}-publicleaderboard.csv").decode())))
    assert [(r["TeamId"], r["TeamName"]) for r in whole] == [(r["teamId"], r["teamName"]) for r in rows]

    oversize = kaggle("submit", "-c", SLUG, "-f", str(files / "huge.csv"), "-m", "too big")
    assert oversize.returncode == 1 and f"limit of {MAX_BYTES:,} bytes" in oversize.stderr
    for _ in range(DAILY_LIMIT - 1):
        assert kaggle("submit", "-c", SLUG, "-f", str(files / "preds.csv"), "-m", "again").returncode == 0
    over_quota = kaggle("submit", "-c", SLUG, "-f", str(files / "preds.csv"), "-m", "one too many")
    # Heldout's message (the limit, when it resets) and nothing else: not the client's own text for a 429.
    assert over_quota.returncode == 1 and re.fullmatch(RESETS, over_quota.stderr.strip()), over_quota.stderr
    wrong_key = kaggle("list", KAGGLE_KEY="hld_wrong")
    assert wrong_key.returncode == 1 and "Authentication required" in wrong_key.stdout
