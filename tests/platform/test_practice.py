"""The practice roadmap: /practice, the account page and GET /api/v1/practice, with each learner's marks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from heldout.challenges.bundle_schema import TOPICS
from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.progress import Progress
from heldout.models import ChallengeStatus, SubmissionStatus, User
from heldout.platform.services.practice import roadmap
from tests.factories import T0, make_challenge, make_scored, make_submission, make_team, make_user
from tests.helpers import make_learner


@pytest.fixture
def database_url(sqlite_only):  # the marks are read by ordinary queries; the boards' SQL is tested on both elsewhere
    return sqlite_only


def on_roadmap(session, slug, topic="regression", *, baseline=(0.40, 0.50), greater_is_better=True, **extra):
    rules = {"baseline": {"score_min": baseline[0], "score_max": baseline[1]}} if baseline else {}
    rules.update(extra.pop("rules", {}))
    return make_challenge(session, slug, title=slug.replace("-", " ").title(), topic=topic, rules=rules,
                          greater_is_better=greater_is_better, **extra)


def scored(session, team, user, public, *, minutes, **extra):
    submission = make_scored(session, team, user, public, at=T0 + timedelta(minutes=minutes), **extra)
    refresh_team_best(session, team.challenge_id, team.id, now=T0)
    return submission


def marks(session, user):
    return {row.challenge.slug: row.progress for topic in roadmap(session, user).topics for row in topic.challenges}


def test_the_topics_come_in_roadmap_order_each_with_its_challenges(session):
    on_roadmap(session, "house-prices", "regression")
    on_roadmap(session, "cart-pole", "reinforcement learning")
    on_roadmap(session, "fraud", "imbalanced classification", difficulty="advanced")
    on_roadmap(session, "easy-fraud", "imbalanced classification", difficulty="beginner")
    make_challenge(session, "no-topic")
    make_challenge(session, "a-draft", topic="regression", status=ChallengeStatus.DRAFT)
    page = roadmap(session, None)
    assert [t.topic for t in page.topics] == list(TOPICS)
    listed = {t.topic: [r.challenge.slug for r in t.challenges] for t in page.topics}
    assert listed["regression"] == ["house-prices"]
    assert listed["imbalanced classification"] == ["easy-fraud", "fraud"]  # easier first
    assert listed["reinforcement learning"] == ["cart-pole"] and listed["text"] == []
    assert page.off_roadmap == 1  # the challenge without a topic; the draft is nobody's practice yet
    assert not page.signed_in and all(r.progress is None for t in page.topics for r in t.challenges)


def test_a_learner_is_marked_on_each_challenge(session):
    ada, rivals = make_user(session), [make_user(session) for _ in range(10)]
    untouched = on_roadmap(session, "untouched")
    tried = on_roadmap(session, "tried-it")
    failed_only = on_roadmap(session, "failed-only")
    beaten = on_roadmap(session, "beaten")
    topped = on_roadmap(session, "topped")
    del untouched
    scored(session, make_team(session, tried, ada), ada, 0.45, minutes=1)  # inside the baseline's range
    make_submission(session, make_team(session, failed_only, ada), ada, status=SubmissionStatus.FAILED)
    scored(session, make_team(session, beaten, ada), ada, 0.51, minutes=1)
    for minutes, rival in enumerate(rivals, start=2):  # ada leads 11 teams on "topped"; rivals lead "beaten"
        scored(session, make_team(session, topped, rival), rival, 0.30, minutes=minutes)
        scored(session, make_team(session, beaten, rival), rival, 0.90, minutes=minutes)
    scored(session, make_team(session, topped, ada), ada, 0.95, minutes=1)
    assert marks(session, ada) == {"untouched": Progress.NOT_TRIED, "tried-it": Progress.TRIED,
                                   "failed-only": Progress.TRIED, "beaten": Progress.BEAT_BASELINE,
                                   "topped": Progress.TOP_TENTH}


def test_lower_is_better_challenges_beat_the_baseline_by_scoring_lower(session):
    ada = make_user(session)
    rmse = on_roadmap(session, "rmse-one", baseline=(1000.0, 1200.0), greater_is_better=False)
    rmse_two = on_roadmap(session, "rmse-two", baseline=(1000.0, 1200.0), greater_is_better=False)
    for challenge in (rmse, rmse_two):  # two rivals ahead, so no top 10%
        for minutes in (1, 2):
            rival = make_user(session)
            scored(session, make_team(session, challenge, rival), rival, 500.0, minutes=minutes)
    scored(session, make_team(session, rmse, ada), ada, 990.0, minutes=5)
    scored(session, make_team(session, rmse_two, ada), ada, 1100.0, minutes=5)
    assert marks(session, ada) == {"rmse-one": Progress.BEAT_BASELINE, "rmse-two": Progress.TRIED}


def test_the_measured_baseline_score_is_the_one_to_beat_once_the_check_passed(session):
    ada, rival = make_user(session), make_user(session)
    challenge = on_roadmap(session, "measured", baseline=(0.40, 0.60), baseline_state="passed",
                           baseline_report={"public_score": 0.50})
    scored(session, make_team(session, challenge, rival), rival, 0.99, minutes=1)
    scored(session, make_team(session, challenge, ada), ada, 0.55, minutes=2)
    assert marks(session, ada) == {"measured": Progress.BEAT_BASELINE}


def test_a_rounded_board_judges_the_baseline_on_the_rounded_score(session):
    ada, rival = make_user(session), make_user(session)
    rounded = on_roadmap(session, "rounded", baseline=(0.40, 0.504), leaderboard_mode="rounded",
                         rules={"leaderboard": {"mode": "rounded", "digits": 2}})
    scored(session, make_team(session, rounded, rival), rival, 0.9, minutes=1)
    # 0.5049 beats 0.504 exactly, but the board shows 0.50, which does not.
    scored(session, make_team(session, rounded, ada), ada, 0.5049, minutes=2)
    assert marks(session, ada) == {"rounded": Progress.TRIED}


def test_a_hosts_submissions_never_earn_the_top_tenth(session):
    host = make_user(session, is_admin=True)
    challenge = on_roadmap(session, "hosted")
    for minutes in range(10):
        rival = make_user(session)
        scored(session, make_team(session, challenge, rival), rival, 0.45, minutes=minutes)
    scored(session, make_team(session, challenge, host), host, 0.99, minutes=20, host=True)
    assert marks(session, host) == {"hosted": Progress.BEAT_BASELINE}


def test_a_late_submission_counts_as_tried_and_for_the_baseline_but_never_for_the_top_tenth(session):
    ada = make_user(session)
    closed = on_roadmap(session, "closed-one", ends_at=T0)
    for minutes in range(10):
        rival = make_user(session)
        scored(session, make_team(session, closed, rival), rival, 0.45, minutes=minutes - 60)
    late = scored(session, make_team(session, closed, ada), ada, 0.99, minutes=30, late=True)
    assert late.late and marks(session, ada) == {"closed-one": Progress.BEAT_BASELINE}
    failed_late = on_roadmap(session, "closed-two", ends_at=T0)
    make_submission(session, make_team(session, failed_late, ada), ada, status=SubmissionStatus.FAILED, late=True,
                    at=T0 + timedelta(minutes=5))
    assert marks(session, ada)["closed-two"] is Progress.TRIED


def test_the_page_lists_the_roadmap_and_a_visitor_is_asked_to_log_in(client, app):
    with app.extensions["heldout"].sessions() as s:
        on_roadmap(s, "house-prices")
        s.commit()
    page = client.get("/practice").get_data(as_text=True)
    assert page.index("1. Regression") < page.index("House Prices") < page.index("2. Classification")
    assert "No challenge on this topic yet." in page and "11. Reinforcement learning" in page
    assert "Log in</a> to see which challenges you have tried" in page and "not tried" not in page


def _ada_on_two_challenges(app):
    with app.extensions["heldout"].sessions() as s:
        ada = s.query(User).filter_by(username="ada").one()
        on_roadmap(s, "house-prices")
        beaten = on_roadmap(s, "wine-quality", "classification")
        scored(s, make_team(s, beaten, ada), ada, 0.55, minutes=1)
        rival = make_user(s)
        scored(s, make_team(s, beaten, rival), rival, 0.99, minutes=2)
        s.commit()


def test_a_learner_sees_their_marks_on_the_page_and_their_account(client, app, auth):
    auth.register()
    _ada_on_two_challenges(app)
    for path in ("/practice", "/account"):
        page = client.get(path).get_data(as_text=True)
        assert "progress-not_tried\">not tried" in page and "progress-beat_baseline\">beat the baseline" in page
        assert "best public score 0.55000 · baseline 0.50000 (higher is better) · rank 2 of 2" in page


def test_the_home_pages_first_link_for_a_learner_is_the_roadmap(client, auth):
    assert '<li><a href="/practice">Practice</a></li>' in client.get("/").get_data(as_text=True)
    auth.register()
    page = client.get("/").get_data(as_text=True)
    main = page[page.index('<main'):]
    assert main[main.index('href="'):].startswith('href="/practice"')  # the first link of the page's content
    nav = page[page.index('id="site-links"'):]
    assert nav.index('href="/practice"') < nav.index('href="/"')


def test_the_api_gives_the_roadmap_with_the_callers_marks(client, app, auth):
    auth.register()
    _ada_on_two_challenges(app)
    anonymous = client.get("/api/v1/practice").get_json()
    assert [t["topic"] for t in anonymous["topics"]] == list(TOPICS) and anonymous["signed_in"] is False
    assert anonymous["topics"][0]["challenges"][0]["progress"] is None
    learner = make_learner(app.extensions["heldout"], "grace")  # grace tried nothing
    grace = client.get("/api/v1/practice", headers=learner.bearer).get_json()
    assert grace["signed_in"] and {c["progress"] for t in grace["topics"] for c in t["challenges"]} == {"not_tried"}
    with app.extensions["heldout"].sessions() as s:
        from heldout.platform.services.accounts import create_token
        token = create_token(s, s.query(User).filter_by(username="ada").one(), "t")
    ada = client.get("/api/v1/practice", headers={"Authorization": f"Bearer {token}"}).get_json()
    wine = ada["topics"][1]["challenges"][0]
    assert wine == {**wine, "slug": "wine-quality", "progress": "beat_baseline", "progress_label": "beat the baseline",
                    "best_public_score": 0.55, "baseline": 0.5, "public_rank": 2, "teams_ranked": 2}
    assert wine["url"].endswith("/api/v1/challenges/wine-quality")
    assert ada["topics"][0]["challenges"][0]["progress"] == "not_tried"
