"""The organizer's pages: upload a bundle (a report of every problem first), preview the draft, publish,
change the timeline and limits, rescore, download every submission, read why submissions failed."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.models import Challenge, ChallengeStatus, Submission, SubmissionStatus, User
from heldout.runner.queue import scoring_queue
from tests.bundles import (
    COPY_SAMPLE_PREDICT,
    CRASHING_BASELINE,
    FIT_SLOPE_BASELINE,
    with_baseline,
    write_code_bundle,
    write_tiny_bundle,
)
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.platform.conftest import csrf_token

PASSWORD = "organizer-password"


def _services(app):
    return app.extensions["heldout"]


def _log_in_new(client, app, username, **roles):
    with _services(app).sessions() as s:
        s.add(User(username=username, password_hash=generate_password_hash(PASSWORD), **roles))
        s.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})


@pytest.fixture
def organizer(client, app):
    _log_in_new(client, app, "olga", is_organizer=True)
    return client


def zip_of(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


def _upload(client, content: bytes, name="bundle.zip"):
    return client.post("/organizer/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/organizer"), "bundle": (io.BytesIO(content), name)})


def _post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, "/organizer"), **form})


def _challenge(app, slug="tiny-regression") -> Challenge | None:
    with _services(app).sessions() as s:
        return s.scalar(select(Challenge).where(Challenge.slug == slug))


def test_learners_cannot_open_the_organizer_pages(client, auth):
    assert client.get("/organizer").status_code == 302  # to the login page
    auth.register()
    response = client.get("/organizer")
    assert response.status_code == 403 and "Only organizer accounts" in response.get_data(as_text=True)


def test_a_broken_bundle_is_reported_problem_by_problem_and_nothing_is_stored(organizer, app, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "bundle")
    lines = (bundle / "solution.csv").read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], "notanumber")
    (bundle / "solution.csv").write_text("\n".join(lines) + "\n")
    (bundle / "challenge.yaml").write_text((bundle / "challenge.yaml").read_text().replace("rmse", "rmsee"))

    response = _upload(organizer, zip_of(bundle))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The bundle has 2 problems; nothing was stored." in page
    assert "<td>challenge.yaml</td><td>task.metric</td><td>—</td><td>unknown metric &#39;rmsee&#39;" in page
    assert "<td>solution.csv</td><td>y</td><td>4</td><td>&#39;notanumber&#39; is not a number</td>" in page
    assert _challenge(app) is None


def test_a_good_bundle_becomes_a_draft_only_its_organizer_sees_until_published(organizer, client, app, tmp_path):
    response = _upload(organizer, zip_of(write_tiny_bundle(tmp_path / "bundle")))
    assert response.status_code == 302 and response.location == "/organizer/c/tiny-regression"
    assert "It is a draft" in client.get(response.location).get_data(as_text=True)
    assert _challenge(app).status == ChallengeStatus.DRAFT
    preview = client.get("/c/tiny-regression").get_data(as_text=True)
    assert "Draft preview" in preview and '<span class="phase phase-draft" id="draft-badge">draft</span>' in preview

    _log_in_new(client, app, "learner")
    assert client.get("/c/tiny-regression").status_code == 404
    _log_in_new(client, app, "olga2", is_organizer=True)
    assert client.get("/organizer/c/tiny-regression").status_code == 404

    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    client.post("/login", data={"username": "olga", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    _post(client, "/organizer/c/tiny-regression/publish")
    assert _challenge(app).status == ChallengeStatus.PUBLISHED
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    assert "Tiny regression" in client.get("/").get_data(as_text=True)


def test_a_slug_of_someone_elses_challenge_is_refused(organizer, app, tmp_path):
    with _services(app).sessions() as s:
        make_challenge(s, "tiny-regression", title="Taken")
        s.commit()
    response = _upload(organizer, zip_of(write_tiny_bundle(tmp_path / "bundle")))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The slug &#39;tiny-regression&#39; belongs to another challenge" in page
    assert _challenge(app).title == "Taken"


def test_only_a_zip_is_accepted(organizer):
    response = _upload(organizer, b"slug: x\n", name="challenge.yaml")
    assert response.status_code == 400 and "Upload the bundle as a .zip" in response.get_data(as_text=True)


@pytest.fixture
def olgas_challenge(organizer, app):
    with _services(app).sessions() as s:
        olga = s.scalar(select(User).where(User.username == "olga"))
        make_challenge(s, "olgas", title="Olga's", created_by_id=olga.id, status=ChallengeStatus.DRAFT)
        s.commit()
    return "olgas"


def test_the_timeline_and_limits_are_saved_as_utc(organizer, app, olgas_challenge):
    response = _post(organizer, "/organizer/c/olgas/settings", starts_at="2026-03-01T09:00",
                     ends_at="2026-04-01T18:30", team_merge_deadline="2026-03-25T00:00", daily_limit="3",
                     max_team_size="4")
    assert response.status_code == 302
    challenge = _challenge(app, "olgas")
    assert challenge.team_merge_deadline.isoformat() == "2026-03-25T00:00:00+00:00"
    assert challenge.starts_at.isoformat() == "2026-03-01T09:00:00+00:00"
    assert challenge.ends_at.isoformat() == "2026-04-01T18:30:00+00:00"
    assert (challenge.daily_limit, challenge.max_team_size) == (3, 4)
    page = organizer.get("/organizer/c/olgas").get_data(as_text=True)
    assert 'value="2026-03-01T09:00"' in page


@pytest.mark.parametrize("field, form, message", [
    ("ends_at", dict(starts_at="2026-03-01T09:00", ends_at="2026-02-01T09:00"), "The end must be after the start."),
    ("starts_at", dict(starts_at="next tuesday"), "is not a date and time"),
    ("team_merge_deadline", dict(ends_at="2026-04-01T18:30", team_merge_deadline="2026-04-02T00:00"),
     "Teams must be fixed by the close"),
    ("daily_limit", dict(daily_limit="many"), "The daily submission limit must be a whole number."),
    ("max_team_size", dict(max_team_size="0"), "The maximum team size must be between 1 and 10000."),
])
def test_a_bad_setting_names_its_field_and_changes_nothing(organizer, app, olgas_challenge, field, form, message):
    values = dict(starts_at="", ends_at="", daily_limit="5", max_team_size="1") | form
    response = _post(organizer, "/organizer/c/olgas/settings", **values)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert f'id="{field}" name="{field}"' in page and f'aria-describedby="{field}-error"' in page
    challenge = _challenge(app, "olgas")
    unchanged = (None, None, 5, 1)
    assert (challenge.starts_at, challenge.ends_at, challenge.daily_limit, challenge.max_team_size) == unchanged


def _submissions(app, slug="olgas"):
    with _services(app).sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == slug))
        ada = make_user(s, "ada")
        team = make_team(s, challenge, ada, name="=HYPERLINK(\"x\")")
        ids = [make_submission(s, team, ada, status=SubmissionStatus.SCORED, public_score=0.5).id,
               make_submission(s, team, ada, status=SubmissionStatus.FAILED, error="Column 'y' is missing").id,
               make_submission(s, team, ada, status=SubmissionStatus.ERROR, internal_error="sandbox unavailable").id,
               make_submission(s, team, ada, status=SubmissionStatus.QUEUED).id]
        for submission_id in ids:
            _services(app).storage.save_stream(f"submissions/{submission_id}.upload",
                                               io.BytesIO(f"id,y\n1,{submission_id}\n".encode()))
            s.get(Submission, submission_id).file_key = f"submissions/{submission_id}.upload"
        s.commit()
    return ids


def test_failed_and_errored_submissions_are_listed_with_their_reasons(organizer, app, olgas_challenge):
    _submissions(app)
    page = organizer.get("/organizer/c/olgas").get_data(as_text=True)
    assert "Column &#39;y&#39; is missing" in page and "sandbox unavailable" in page


def test_rescoring_requeues_every_finished_submission(organizer, app, olgas_challenge):
    scored, failed, errored, _queued = _submissions(app)
    response = _post(organizer, "/organizer/c/olgas/rescore")
    assert "3 submissions queued for rescoring." in organizer.get(response.location).get_data(as_text=True)
    with _services(app).sessions() as s:
        assert {s.get(Submission, i).status for i in (scored, failed, errored)} == {SubmissionStatus.QUEUED}
    assert scoring_queue(_services(app).redis).count == 3


def test_every_submission_downloads_as_one_zip_with_a_manifest(organizer, app, olgas_challenge):
    ids = _submissions(app)
    response = organizer.get("/organizer/c/olgas/submissions.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()
    assert names[-1] == "manifest.csv" and len(names) == len(ids) + 1
    assert archive.read(names[0]) == f"id,y\n1,{ids[0]}\n".encode()
    manifest = archive.read("manifest.csv").decode()
    # A team name that looks like a spreadsheet formula is written as text.
    assert "'=HYPERLINK" in manifest and "Column 'y' is missing" in manifest


# --- the baseline check: queued by the upload, run by a worker, shown here, required to publish -------------

@pytest.fixture
def worker(app, settings, fake_redis, bwrap_sandbox):
    """Work the queue (the baseline checks the uploads queued) as `heldout worker --burst` would, under bubblewrap."""
    from rq import SimpleWorker

    from heldout.runner.context import RunnerContext, configure

    context = RunnerContext.from_settings(settings, redis=fake_redis)
    context.sandbox = bwrap_sandbox
    configure(context)
    return lambda: SimpleWorker([scoring_queue(fake_redis)], connection=fake_redis).work(burst=True)


# The check's database side is the same on both backends (the first test below runs on both); the rest run on
# SQLite only, each a sandbox run or two, to keep the suite quick.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _page(client, slug="tiny-regression") -> str:
    return client.get(f"/organizer/c/{slug}").get_data(as_text=True)


def test_the_upload_runs_the_baseline_and_publishing_waits_until_it_passed(organizer, app, worker, tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "bundle"), FIT_SLOPE_BASELINE, score_min=0, score_max=0.5)
    response = _upload(organizer, zip_of(bundle))
    assert "Its baseline is being run in the sandbox" in organizer.get(response.location).get_data(as_text=True)
    page = _page(organizer)
    assert "running</span> Queued for a worker" in page
    assert "The baseline check is still running: publish once it has passed." in page

    refused = _post(organizer, "/organizer/c/tiny-regression/publish")
    assert refused.status_code == 409 and "still running" in refused.get_data(as_text=True)
    assert _challenge(app).status == ChallengeStatus.DRAFT

    worker()
    page = _page(organizer)
    assert "passed</span> Both scores are in the stated range." in page
    public, private = re.search(r'<table id="baseline-scores">.*?<tbody><tr>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>',
                                page, re.S).groups()
    assert 0 < float(public) < 0.5 and 0 < float(private) < 0.5
    assert "<td>0 to 0.5</td>" in page
    assert _post(organizer, "/organizer/c/tiny-regression/publish").status_code == 302
    assert _challenge(app).status == ChallengeStatus.PUBLISHED


@sqlite_only
def test_a_baseline_outside_its_range_is_a_problem_on_the_page_and_blocks_publishing(organizer, app, worker,
                                                                                      tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "bundle"), FIT_SLOPE_BASELINE, score_min=1, score_max=2)
    _upload(organizer, zip_of(bundle))
    worker()
    page = _page(organizer)
    assert "failed</span> Fix the bundle and upload it again." in page
    assert re.search(r"<li><code>challenge.yaml:baseline.score</code>: the baseline scored 0\.1\d* on the public "
                     r"split, outside the stated range 1 to 2</li>", page)
    assert "<td>1 to 2</td>" in page  # the scores are shown beside the range
    refused = _post(organizer, "/organizer/c/tiny-regression/publish")
    assert refused.status_code == 409 and "The baseline check did not pass" in refused.get_data(as_text=True)
    assert _challenge(app).status == ChallengeStatus.DRAFT


@sqlite_only
def test_a_crashing_baseline_shows_the_organizer_its_log(organizer, app, worker, tmp_path):
    _upload(organizer, zip_of(with_baseline(write_tiny_bundle(tmp_path / "bundle"), CRASHING_BASELINE)))
    worker()
    page = _page(organizer)
    assert "the baseline did not produce a score: it exited with status 1; its output is below" in page
    log = page.split('id="baseline-log"', 1)[1]
    assert "reading the training data" in log and "FileNotFoundError" in log and "train_v2.csv" in log


@sqlite_only
def test_a_newer_upload_replaces_the_pending_check_of_the_older_bundle(organizer, app, worker, tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "bundle"), FIT_SLOPE_BASELINE, score_min=1, score_max=2)
    _upload(organizer, zip_of(bundle))
    (bundle / "challenge.yaml").write_text((bundle / "challenge.yaml").read_text().replace("min: 1, max: 2",
                                                                                       "min: 0, max: 0.5"))
    _upload(organizer, zip_of(bundle))
    worker()  # the first job finds its bundle replaced and records nothing
    assert _challenge(app).baseline_state == "passed"


@sqlite_only
@pytest.mark.parametrize("kind", ["code", "reinforcement"])
def test_code_and_reinforcement_learning_baselines_run_from_the_stored_bundle(organizer, app, worker, tmp_path,
                                                                             kind):
    if kind == "code":
        slug = "tiny-code"
        bundle = with_baseline(write_code_bundle(tmp_path / "bundle"), COPY_SAMPLE_PREDICT, name="predict.py")
    else:
        slug, bundle = "cartpole-balance", tmp_path / "bundle"
        shutil.copytree(Path(__file__).resolve().parents[2] / "challenges" / slug, bundle)
    _upload(organizer, zip_of(bundle))
    worker()
    assert _challenge(app, slug).baseline_state == "passed", _page(organizer, slug)
    assert "passed</span>" in _page(organizer, slug)


@sqlite_only
def test_a_bundle_without_a_baseline_has_nothing_to_check(organizer, app, fake_redis, tmp_path):
    _upload(organizer, zip_of(write_tiny_bundle(tmp_path / "bundle")))
    assert "This bundle declares no baseline" in _page(organizer)
    assert scoring_queue(fake_redis).count == 0
    assert _post(organizer, "/organizer/c/tiny-regression/publish").status_code == 302
