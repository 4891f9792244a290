"""The learner's pages as a browser without JavaScript receives them: the challenge list and its filters,
the challenge page's tabs, submitting (plain and by XHR), the dry run, the submission page, chart data,
and the headers and markup rules every page keeps."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.leaderboard.best import refresh_challenge_best
from heldout.models import Challenge, Submission, SubmissionStatus, User, utcnow
from heldout.platform.services.publishing import load_challenge
from tests.bundles import perfect_predictions, write_tiny_bundle
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.platform.conftest import csrf_token


def _services(app):
    return app.extensions["heldout"]


def _add_challenges(app, **by_slug):
    with _services(app).sessions() as s:
        for slug, extra in by_slug.items():
            make_challenge(s, slug, title=slug.replace("-", " ").title(), **extra)
        s.commit()


@pytest.fixture
def tiny(app, tmp_path):
    """The tiny regression bundle, loaded the real way: files, sample and solution in storage."""
    bundle = write_tiny_bundle(tmp_path / "bundle")
    svc = _services(app)
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, bundle)
    return bundle


def _submit(client, slug, content: bytes, *, name="preds.csv", message="", json=False):
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/c/{slug}/submit", headers=headers, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/c/{slug}"), "message": message, "file": (io.BytesIO(content), name)})


def _set(app, submission_id: int, **values):
    with _services(app).sessions() as s:
        submission = s.get(Submission, submission_id)
        for name, value in values.items():
            setattr(submission, name, value)
        s.commit()


# --- the challenge list ------------------------------------------------------------------------------------

def test_the_list_filters_by_phase_and_each_card_names_its_metric(client, app):
    now = utcnow()
    _add_challenges(app, **{
        "running-now": dict(ends_at=now + timedelta(days=3, hours=2)),
        "opens-later": dict(starts_at=now + timedelta(days=2), metric="accuracy", greater_is_better=True),
        "already-over": dict(ends_at=now - timedelta(days=1)),
    })
    everything = client.get("/").get_data(as_text=True)
    assert all(title in everything for title in ("Running Now", "Opens Later", "Already Over"))

    active = client.get("/?phase=active").get_data(as_text=True)
    assert "Running Now" in active and "Opens Later" not in active and "Already Over" not in active
    assert "Metric: <strong>rmse</strong> (lower is better)" in active
    assert "3 days left" in active and "0 teams" in active

    upcoming = client.get("/?phase=upcoming").get_data(as_text=True)
    assert "Opens Later" in upcoming and "opens in 1 day" in upcoming and "(higher is better)" in upcoming
    assert "Already Over" in client.get("/?phase=closed").get_data(as_text=True)


def test_an_unknown_phase_is_refused_naming_it(client):
    response = client.get("/?phase=soon")
    assert response.status_code == 400
    assert "Unknown phase &#39;soon&#39;" in response.get_data(as_text=True)


def test_cards_count_teams_and_link_their_tags(client, app):
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "houses", title="House prices", tags=["tabular", "regression"],
                                   difficulty="intermediate")
        make_team(s, challenge, make_user(s))
        make_team(s, challenge, make_user(s))
        s.commit()
    page = client.get("/").get_data(as_text=True)
    assert "2 teams" in page and "intermediate" in page
    assert 'href="/?tag=tabular"' in page
    assert "House prices" in client.get("/?tag=tabular").get_data(as_text=True)
    assert "House prices" not in client.get("/?tag=vision").get_data(as_text=True)


# --- the challenge page ------------------------------------------------------------------------------------

def test_the_challenge_page_has_every_tab_as_a_section(client, auth, tiny):
    auth.register()
    page = client.get("/c/tiny-regression").get_data(as_text=True)
    for section in ("overview", "data", "evaluation", "leaderboard", "my-submissions", "submit"):
        assert f'href="#{section}"' in page and f'<section id="{section}"' in page
    assert "<strong>y</strong>" in page  # the description's Markdown, rendered
    assert re.search(r'href="/c/tiny-regression/files/train.csv" download>train.csv</a></td>\s*'
                     r'<td class="num">\d+ B</td>', page)
    assert "<caption>The first rows of <code>sample_submission.csv</code></caption>" in page
    assert "Columns, in order: <code>id</code>, <code>y</code>" in page
    assert "Root mean squared error" in page and "lower is better" in page
    assert "public leaderboard" in page and "private" in page
    assert "<strong>5</strong> of 5 submissions left today" in page


def test_the_description_is_sanitised(client, app):
    _add_challenges(app, risky=dict(description_md="Hi <script>window.__xss=1</script> "
                                                   "<img src=x onerror=\"window.__xss=1\"> [a](javascript:alert(1))"))
    page = client.get("/c/risky").get_data(as_text=True)
    assert "window.__xss" not in page and "javascript:" not in page


def test_a_closed_challenge_without_late_submissions_shows_no_submit_form(client, auth, app):
    _add_challenges(app, over=dict(ends_at=utcnow() - timedelta(hours=1), late_submissions=False))
    auth.register()
    page = client.get("/c/over").get_data(as_text=True)
    assert "does not take late submissions" in page and 'id="submit-form"' not in page
    assert "this challenge does not take late submissions" in page  # the rules panel


def test_a_closed_challenge_taking_late_submissions_says_what_they_are_above_the_form(client, auth, app):
    _add_challenges(app, over=dict(ends_at=utcnow() - timedelta(hours=1)))
    auth.register()
    page = client.get("/c/over").get_data(as_text=True)
    assert 'id="late-note"' in page and "would have placed" in page and "never ranked" in page
    assert 'id="submit-form"' in page
    assert 'id="rules-late"' in page and "The daily limit still applies" in page


def test_a_code_challenge_asks_for_a_python_file_or_zip(client, auth, app):
    _add_challenges(app, coded=dict(kind="code"))
    auth.register()
    page = client.get("/c/coded").get_data(as_text=True)
    assert 'accept=".py,.zip"' in page and "predict.py" in page
    response = _submit(client, "coded", b"print(1)", name="model.ipynb", json=True)
    assert response.status_code == 400 and response.get_json()["field"] == "file"


def test_a_reinforcement_learning_challenge_asks_for_its_policy_on_every_page(client, auth, app):
    from pathlib import Path

    svc = _services(app)
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, Path(__file__).resolve().parents[2] / "challenges" / "cartpole-balance")
    auth.register()
    page = client.get("/c/cartpole-balance").get_data(as_text=True)
    assert "<label for=\"file\">Your policy.py defining act(), or a .zip with policy.py</label>" in page
    assert "Submit a <code>policy.py</code> that defines <code>act(observation)</code>" in page
    assert "predict.py" not in page and "Columns, in order" not in page

    def check(content: bytes, name: str) -> str:
        return client.post("/c/cartpole-balance/check", content_type="multipart/form-data",
                           data={"csrf_token": csrf_token(client, "/c/cartpole-balance"),
                                 "file": (io.BytesIO(content), name)}).get_data(as_text=True)

    refused = check(b"episode,return\n", "preds.csv")
    assert "submit a policy.py file defining act(), or a .zip with policy.py." in refused
    assert "predict.py" not in refused


def _sentences_of(page: str, element_id: str) -> list[str]:
    """The sentences of one element's text, tags dropped."""
    found = re.search(rf'<p id="{element_id}">(.*?)</p>', page, re.S)
    assert found, f"no #{element_id} on the page"
    text = " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())
    return [sentence for sentence in re.split(r"(?<=\.)\s+", text) if sentence]


def test_a_code_or_policy_challenge_page_says_what_runs_where_in_two_sentences(client, auth, app, tmp_path):
    from pathlib import Path

    from tests.bundles import write_code_bundle

    svc = _services(app)
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, write_code_bundle(tmp_path / "code"))
        load_challenge(s, svc.storage, None, Path(__file__).resolve().parents[2] / "challenges" / "cartpole-balance")
    auth.register()
    code = _sentences_of(client.get("/c/tiny-code").get_data(as_text=True), "what-runs-where")
    assert len(code) == 2, code
    assert code[0].startswith("Your code first runs on the public example data (example_test.csv as /data/test.csv), "
                              "and you see all it prints there")
    assert "hidden test set" in code[1] and "nothing it prints is shown" in code[1]
    policy = _sentences_of(client.get("/c/cartpole-balance").get_data(as_text=True), "what-runs-where")
    assert len(policy) == 2, policy
    assert policy[0].startswith("Your policy first plays the public episodes, and you see all it prints there")
    assert "every episode, public and private" in policy[1] and "nothing it prints is shown" in policy[1]


# --- submitting --------------------------------------------------------------------------------------------

def test_an_xhr_submission_gets_json_with_the_submission_page(client, auth, tiny):
    auth.register()
    response = _submit(client, "tiny-regression", perfect_predictions(tiny), message="xhr", json=True)
    assert response.status_code == 201
    body = response.get_json()
    assert body["url"] == f"/submissions/{body['id']}"
    assert client.get(body["url"]).status_code == 200


def test_an_xhr_submission_error_is_json_naming_the_field(client, auth, tiny):
    auth.register()
    response = _submit(client, "tiny-regression", b"", json=True)
    assert response.status_code == 400
    assert response.get_json() == {"code": "empty_file", "message": "The file is empty.", "field": "file"}


def test_the_dry_run_reports_row_and_column_and_uses_no_quota(client, auth, app, tiny):
    auth.register()
    broken = perfect_predictions(tiny).replace(b"\n41,", b"\n41,oops", 1)
    response = client.post("/c/tiny-regression/check", headers={"Accept": "application/json"},
                           content_type="multipart/form-data",
                           data={"csrf_token": csrf_token(client, "/c/tiny-regression"),
                                 "file": (io.BytesIO(broken), "preds.csv")})
    assert response.status_code == 422
    body = response.get_json()
    assert body["details"]["column"] == "y" and body["details"]["rows"] == [3]

    page = client.post("/c/tiny-regression/check", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, "/c/tiny-regression"),
                             "file": (io.BytesIO(perfect_predictions(tiny)), "preds.csv")})
    assert page.status_code == 200 and "this file would be scored" in page.get_data(as_text=True)
    with _services(app).sessions() as s:
        assert s.scalars(select(Submission)).all() == []
    assert "<strong>5</strong> of 5" in client.get("/c/tiny-regression").get_data(as_text=True)


# --- the submission page -----------------------------------------------------------------------------------

def test_a_queued_submission_shows_its_place_in_the_queue(client, auth, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    page = client.get(location).get_data(as_text=True)
    assert "number 1 in the queue" in page and "This page updates by itself" in page
    assert 'src="/static/js/submission.js"' in page


def test_a_failed_submission_shows_the_message_row_and_column(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", b"id,y\n41,abc\n").location
    submission_id = int(location.rsplit("/", 1)[1])
    _set(app, submission_id, status=SubmissionStatus.FAILED,
         error="Values must be numbers (column 'y'; row 2)",
         error_detail={"message": "Values must be numbers", "column": "y", "rows": [2], "text": "…"})
    page = client.get(location).get_data(as_text=True)
    assert "Values must be numbers" in page
    assert '<code id="error-column">y</code>' in page
    assert re.search(r'<dd id="error-rows">2 <small>', page)


def test_a_scored_submission_shows_score_interval_run_time_memory_and_capped_logs(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    _set(app, int(location.rsplit("/", 1)[1]), status=SubmissionStatus.SCORED, public_score=0.123456789,
         public_ci_low=0.1, public_ci_high=0.15, run_s=1.5, peak_memory_bytes=50 * 1024 * 1024,
         logs="start\n" + "x" * 30_000 + "\nthe end")
    page = client.get(location).get_data(as_text=True)
    assert "0.12346" in page and "95% interval 0.10000 – 0.15000" in page
    assert "1.50 s" in page and "50.0 MB" in page
    assert "the last 20,000 characters of" in page and "the end" in page and "start\n" not in page
    assert "private-score" not in page  # no private score before the reveal, only why it is hidden
    # The tiny challenge has no end date: its private score waits for the organizers.
    assert ("Hidden until the organizers reveal it (the challenge has no end date), so that tuning to the public "
            "board does not pay.") in page


DIAGNOSTICS = {"rows": 20, "confusion": {"labels": ["<b>no</b>", "yes"], "matrix": [[9, 1], [2, 8]], "threshold": 0.5},
               "calibration": {"event": "the label is yes", "probability": "p(yes)",
                               "bins": [{"bin_low": 0.0, "bin_high": 1.0, "mean_predicted": 0.5, "observed": 0.5,
                                         "rows": 20}]}}


def test_a_scored_submission_shows_its_public_diagnostics_as_charts_with_a_table(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    sid = int(location.rsplit("/", 1)[1])
    _set(app, sid, status=SubmissionStatus.SCORED, public_score=0.5, diagnostics=DIAGNOSTICS)
    page = client.get(location).get_data(as_text=True)
    assert "Diagnostics" in page and "on the 20 public rows" in page
    assert 'data-chart="confusion"' in page and 'data-chart="calibration"' in page
    assert "<b>no</b>" not in page and "&lt;b&gt;no&lt;/b&gt;" in page  # a label is text, never markup
    table = re.search(r'<table id="confusion-table">.*?</table>', page, re.S).group(0)
    assert re.findall(r'<td class="num( diagonal)?">(\d+)</td>', table) == [
        (" diagonal", "9"), ("", "1"), ("", "2"), (" diagonal", "8")]
    body = client.get(f"/submissions/{sid}/status").get_json()
    assert body["diagnostics"] == DIAGNOSTICS


def test_rounded_and_ladder_boards_hide_diagnostics_that_would_give_back_the_exact_score(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    sid = int(location.rsplit("/", 1)[1])
    _set(app, sid, status=SubmissionStatus.SCORED, public_score=0.5, diagnostics=DIAGNOSTICS)
    with _services(app).sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == "tiny-regression"))
        challenge.leaderboard_mode = "rounded"
        challenge.rules = {**challenge.rules, "leaderboard": {"mode": "rounded", "digits": 2}}
        s.commit()
    page = client.get(location).get_data(as_text=True)
    assert "data-chart=\"" not in page and "on the 20 public rows" not in page
    # Said where the charts would have been, with the reason.
    assert re.search(r'id="diagnostics-withheld"[^>]*>Withheld on this challenge: .* rounded leaderboard withholds', page)
    assert client.get(f"/submissions/{sid}/status").get_json()["diagnostics"] is None


def test_a_clustering_submission_says_why_it_has_no_charts_where_they_would_be(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    sid = int(location.rsplit("/", 1)[1])
    _set(app, sid, status=SubmissionStatus.SCORED, public_score=0.5, diagnostics=None)
    assert 'id="diagnostics' not in client.get(location).get_data(as_text=True)  # a regression scored before charts
    with _services(app).sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == "tiny-regression"))
        challenge.scoring_spec = {**challenge.scoring_spec, "task_type": "clustering"}
        s.commit()
    page = client.get(location).get_data(as_text=True)
    assert re.search(r'id="diagnostics-none">No charts on a clustering challenge: cluster numbers are names', page)


def test_a_ladder_board_tells_each_submission_only_the_ladders_value_everywhere(client, auth, app, tiny):
    auth.register()
    with _services(app).sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == "tiny-regression"))
        challenge.greater_is_better = True
        challenge.leaderboard_mode = "ladder"
        challenge.rules = {**challenge.rules, "leaderboard": {"mode": "ladder", "step": 0.01}}
        s.commit()
    ids = []
    for exact in (0.70123, 0.709):  # the second beats the first by less than the step
        location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
        ids.append(int(location.rsplit("/", 1)[1]))
        _set(app, ids[-1], status=SubmissionStatus.SCORED, public_score=exact, public_ci_low=exact - 0.01,
             public_ci_high=exact + 0.01)
    page = client.get(f"/submissions/{ids[1]}").get_data(as_text=True)
    assert re.search(r'id="public-score">0.70<', page) and "0.709" not in page and 'id="public-ci"' not in page
    assert "95% interval withheld" in page
    assert 'id="standing-change">The same as your team\'s previous best (0.70), as the board shows it.' in page
    body = client.get(f"/submissions/{ids[1]}/status").get_json()
    assert body["public_score"] == 0.70 and body["public_ci"] is None
    listed = client.get("/c/tiny-regression").get_data(as_text=True)
    assert "0.701" not in listed and "0.709" not in listed
    history = client.get("/c/tiny-regression/charts/history.json").get_json()
    assert [point["score"] for point in history["team"]] == [0.70, 0.70] and history["precision"] == 2
    assert all(point["score"] == 0.70 for point in history["top"])


def test_a_failed_submission_has_no_diagnostics(client, auth, app, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    _set(app, int(location.rsplit("/", 1)[1]), status=SubmissionStatus.FAILED, error="bad", diagnostics=DIAGNOSTICS)
    assert "Diagnostics" not in client.get(location).get_data(as_text=True)


# --- chart data --------------------------------------------------------------------------------------------

def test_the_history_chart_has_the_teams_scores_and_the_top_score_as_a_step_line(client, app):
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "charted")
        ada, bob = make_user(s, "ada-chart"), make_user(s, "bob-chart")
        rival, mine = make_team(s, challenge, bob, name="rival"), make_team(s, challenge, ada, name="mine")
        make_submission(s, rival, bob, status=SubmissionStatus.SCORED, public_score=0.5)
        make_submission(s, mine, ada, status=SubmissionStatus.SCORED, public_score=0.7)
        make_submission(s, mine, ada, status=SubmissionStatus.SCORED, public_score=0.3)
        make_submission(s, mine, ada, status=SubmissionStatus.FAILED)
        s.commit()

    anonymous = client.get("/c/charted/charts/history.json").get_json()
    assert anonymous["team"] == []
    # Lower is better: the record goes 0.5, then 0.3, and is held until now.
    assert [p["score"] for p in anonymous["top"]] == [0.5, 0.3, 0.3]

    _login_as(client, app, "ada-chart")
    mine = client.get("/c/charted/charts/history.json").get_json()
    assert [p["score"] for p in mine["team"]] == [0.7, 0.3]
    assert mine["team_name"] == "mine" and mine["greater_is_better"] is False


def test_the_shakeup_chart_waits_for_the_private_reveal(client, app):
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "shaken", ends_at=utcnow() + timedelta(days=1))
        for name, public, private in (("steady", 0.1, 0.1), ("overfit", 0.2, 0.9), ("modest", 0.3, 0.2)):
            user = make_user(s, name)
            make_submission(s, make_team(s, challenge, user, name=name), user, status=SubmissionStatus.SCORED,
                            public_score=public, private_score=private)
        s.flush()
        refresh_challenge_best(s, challenge.id)
        s.commit()
    hidden = client.get("/c/shaken/charts/shakeup.json")
    assert hidden.status_code == 403 and hidden.get_json()["code"] == "private_hidden"
    assert 'data-chart="shakeup"' not in client.get("/c/shaken").get_data(as_text=True)

    with _services(app).sessions() as s:
        s.scalar(select(Challenge).where(Challenge.slug == "shaken")).ends_at = utcnow() - timedelta(minutes=1)
        s.commit()
    points = {p["team"]: (p["public_rank"], p["private_rank"])
              for p in client.get("/c/shaken/charts/shakeup.json").get_json()["points"]}
    assert points == {"steady": (1, 1), "overfit": (2, 3), "modest": (3, 2)}
    assert 'data-chart="shakeup"' in client.get("/c/shaken").get_data(as_text=True)


def _login_as(client, app, username):
    with _services(app).sessions() as s:
        s.scalar(select(User).where(User.username == username)).password_hash = generate_password_hash("pw-12345678")
        s.commit()
    client.post("/login", data={"username": username, "password": "pw-12345678",
                                "csrf_token": csrf_token(client, "/login")})


# --- rules every page keeps ----------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_pages_carry_a_csp_without_inline_script_and_have_no_inline_script(client, auth, tiny):
    auth.register()
    location = _submit(client, "tiny-regression", perfect_predictions(tiny)).location
    for path in ("/", "/login", "/c/tiny-regression", location, "/account", "/nowhere"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        html = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), path
        assert not EVENT_HANDLER.search(html), path
        assert ' style="' not in html, path


def test_times_are_time_elements_with_utc_for_hovering(client, app):
    _add_challenges(app, timed=dict(ends_at=utcnow().replace(microsecond=0) + timedelta(days=1)))
    page = client.get("/c/timed").get_data(as_text=True)
    match = re.search(r'<time datetime="([^"]+)" title="([^"]+) UTC">', page)
    assert match and match.group(1).startswith(match.group(2)[:10])


def test_form_fields_have_labels(client, auth, tiny):
    auth.register()
    for path in ("/register", "/login", "/c/tiny-regression", "/account"):
        html = client.get(path).get_data(as_text=True)
        for tag in re.findall(r'<(?:input|select|textarea)\b[^>]*>', html):
            if 'type="hidden"' in tag:
                continue
            field_id = re.search(r'\bid="([^"]+)"', tag)
            labelled = "aria-label=" in tag or (field_id and f'<label for="{field_id.group(1)}"' in html)
            assert labelled, (path, tag)


def test_a_draft_is_not_listed_for_others(client, auth, app):
    _add_challenges(app, drafty=dict(status="draft"))
    auth.register()
    assert "Drafty" not in client.get("/").get_data(as_text=True)
    assert client.get("/c/drafty").status_code == 404
    with _services(app).sessions() as s:
        assert s.scalar(select(Challenge.status).where(Challenge.slug == "drafty")).value == "draft"
