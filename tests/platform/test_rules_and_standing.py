"""The rules panel (page and API), what withheld things say where they would have been, where a scored
submission leaves its team, and the viewer's own row on every board."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.leaderboard.best import refresh_team_best
from heldout.models import User, utcnow
from tests.factories import make_challenge, make_group, make_scored, make_team, make_user

DAY = timedelta(days=1)


def _services(app):
    return app.extensions["heldout"]


def _me(session, name="ada"):
    return session.scalar(select(User).where(User.username == name))


@pytest.fixture
def rounded(app):
    """A running challenge on a rounded board, with teams of three and a merge deadline."""
    now = utcnow().replace(microsecond=0)
    with _services(app).sessions() as s:
        make_challenge(s, "rules-demo", title="Rules demo", starts_at=now - DAY, ends_at=now + 10 * DAY,
                       team_merge_deadline=now + 3 * DAY, max_team_size=3, daily_limit=4, max_final_submissions=2,
                       leaderboard_mode="rounded", rules={"leaderboard": {"mode": "rounded", "digits": 3}})
        s.commit()
    return now


def test_the_overview_states_every_rule_in_one_panel(client, auth, rounded):
    auth.register()
    page = client.get("/c/rules-demo").get_data(as_text=True)
    panel = re.search(r'<section id="rules".*?</section>', page, re.S).group(0)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", panel)))
    ends = rounded + 10 * DAY
    assert f"until {ends:%Y-%m-%d %H:%M} UTC ({ends:%Y-%m-%d %H:%M} UTC)" in text  # local (by script) and UTC
    assert "9 days left" in text
    assert f"Up to 3 members. Teams can form and merge until {rounded + 3 * DAY:%Y-%m-%d %H:%M} UTC" in text
    assert "4 submissions a day per team; 4 left today." in text
    assert "The count resets at" in text and "00:00 UTC" in text
    assert "Each team selects up to 2 final submissions" in text and "its 2 best public submissions count" in text
    assert "Rounded: scores are rounded to 3 decimals before ranking" in text
    assert "Exact public scores: scores are rounded to 3 decimals so the public board can't be probed." in text
    assert "Per-submission diagnostics: withheld for the same reason" in text
    assert "Private scores: hidden until the challenge ends" in text
    # The evaluation tab no longer promises intervals this board withholds.
    assert "Each public score comes with a 95% bootstrap interval" not in page
    assert "The 95% intervals and per-submission diagnostics are withheld on this challenge" in page
    # Where the shake-up chart will be, a note says when it comes and why not before (without the word
    # "shake-up", which the secrecy crawl takes for a private board shown too early).
    assert re.search(r'<p id="shakeup-withheld" class="withheld">A chart of each team\'s public rank against its '
                     r"private rank appears here with the private leaderboard: private ranks stay hidden until then",
                     page)


def test_the_api_challenge_json_carries_the_same_rules(client, rounded):
    rules = client.get("/api/v1/challenges/rules-demo").get_json()["rules"]
    assert rules["board"] == {"mode": "rounded", "description": "Rounded: scores are rounded to 3 decimals before "
                                                                "ranking; equal rounded scores go to the earlier "
                                                                "submission."}
    assert [w["what"] for w in rules["withheld"]] == [
        "exact public scores", "95% intervals", "per-submission diagnostics", "private scores"]
    assert rules["finals"]["max"] == 2 and "selects up to 2" in rules["finals"]["how"]
    assert rules["merge_deadline"].startswith(f"{rounded + 3 * DAY:%Y-%m-%dT%H:%M}")
    assert rules["remaining_today"] is None  # nobody is logged in
    assert rules["resets_at"].endswith("T00:00:00+00:00")
    assert rules["time_left"] == "9 days left"


def test_a_classic_board_withholds_only_the_private_scores(client, app):
    with _services(app).sessions() as s:
        make_challenge(s, "open-book", private_revealed=True)
        s.commit()
    page = client.get("/c/open-book").get_data(as_text=True)
    assert "Nothing: every score, interval and diagnostic is shown." in page
    assert 'id="shakeup-chart"' in page and "shakeup-withheld" not in page
    assert client.get("/api/v1/challenges/open-book").get_json()["rules"]["withheld"] == []


def test_without_an_end_date_the_private_scores_wait_for_the_organizers(client, app):
    with _services(app).sessions() as s:
        make_challenge(s, "endless", ends_at=None, max_team_size=1)
        s.commit()
    page = client.get("/c/endless").get_data(as_text=True)
    assert "Private scores</strong>: hidden until its organizers reveal them (the challenge has no end date)" in page
    assert "The private leaderboard stays hidden until the organizers reveal it (the challenge has no end date)." \
        in page
    assert "until the challenge ends" not in page
    # A team of one at most: the panel does not speak of forming and merging teams.
    assert '<dd id="rules-teams">One person per team: everyone enters alone, and teams cannot merge.</dd>' in page
    withheld = client.get("/api/v1/challenges/endless").get_json()["rules"]["withheld"]
    assert withheld[-1]["why"].startswith("hidden until its organizers reveal them")


@pytest.fixture
def contest(app, auth):
    """Accuracy; alpha 0.90, beta 0.80, gamma 0.70 on the board, and ada's team with 0.75 then 0.85."""
    auth.register()
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "standing", greater_is_better=True, metric="accuracy")
        for name, score in (("alpha", 0.90), ("beta", 0.80), ("gamma", 0.70)):
            team = make_team(s, challenge, user := make_user(s), name=name)
            make_scored(s, team, user, score)
            refresh_team_best(s, challenge.id, team.id)
        ada = _me(s)
        team = make_team(s, challenge, ada, name="ada's team")
        first = make_scored(s, team, ada, 0.75)
        better = make_scored(s, team, ada, 0.85)
        refresh_team_best(s, challenge.id, team.id)
        s.commit()
        return first.id, better.id


def test_a_scored_submission_says_where_the_team_stands_and_links_to_it(client, contest):
    first, better = contest
    page = client.get(f"/submissions/{better}").get_data(as_text=True)
    assert re.search(r"This submission puts your team at <strong id=\"standing-rank\">#2</strong> of 4", page)
    assert re.search(r'<strong class="better">0.10000 better</strong> than your team\'s previous best \(0.75000\)',
                     page)
    assert 'href="/c/standing/leaderboard#my-team"' in page
    page = client.get(f"/submissions/{first}").get_data(as_text=True)
    assert "Your team's place comes from another submission (#2); were this one your best, your team would be " \
           '<strong id="standing-rank">#3</strong> of 4' in page
    assert "Your team's first score on this leaderboard." in page


def test_the_submission_json_says_where_the_team_stands(client, contest):
    _, better = contest
    standing = client.get(f"/submissions/{better}/status").get_json()["standing"]
    assert {k: standing[k] for k in ("rank", "holds_row", "teams", "team_rank", "previous_best", "improved")} == {
        "rank": 2, "holds_row": True, "teams": 4, "team_rank": 2, "previous_best": 0.75, "improved": True}
    assert standing["change"] == pytest.approx(0.10)
    assert standing["leaderboard_url"].endswith("/c/standing/leaderboard#my-team")


def test_every_board_marks_my_team_and_jumps_to_it_from_another_page(client, app, auth):
    auth.register()
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "crowded")
        for n in range(130):  # rmse: lower is better, so ada's 200.0 ranks last
            team = make_team(s, challenge, user := make_user(s), name=f"team {n:03}")
            make_scored(s, team, user, float(n))
            refresh_team_best(s, challenge.id, team.id)
        ada = _me(s)
        team = make_team(s, challenge, ada, name="ada's team")
        make_scored(s, team, ada, 200.0)
        refresh_team_best(s, challenge.id, team.id)
        s.commit()
    first = client.get("/c/crowded/leaderboard").get_data(as_text=True)
    assert 'class="mine"' not in first
    assert '<a href="/c/crowded/leaderboard?page=2#my-team">Jump to my team</a>' in first
    overview = client.get("/c/crowded").get_data(as_text=True)
    assert '<a href="/c/crowded/leaderboard?page=2#my-team">Jump to my team</a>' in overview
    second = client.get("/c/crowded/leaderboard?page=2").get_data(as_text=True)
    row = re.search(r'<tr id="my-team" aria-current="true" class="mine">.*?</tr>', second, re.S).group(0)
    assert "ada&#39;s team" in row and "(your team)" in row and ">131<" in row
    assert "Jump to my team" not in second


def test_the_private_and_a_study_groups_boards_jump_to_my_team_too(client, app, auth):
    auth.register()
    with _services(app).sessions() as s:
        challenge = make_challenge(s, "revealed", private_revealed=True)
        ada = _me(s)
        users = []
        for n in range(110):  # rmse: lower is better, so ada's 200.0 ranks last on both boards
            team = make_team(s, challenge, user := make_user(s), name=f"team {n:03}")
            make_scored(s, team, user, float(n), private=float(n))
            refresh_team_best(s, challenge.id, team.id)
            users.append(user)
        team = make_team(s, challenge, ada, name="ada's team")
        make_scored(s, team, ada, 200.0, private=200.0)
        refresh_team_best(s, challenge.id, team.id)
        group = make_group(s, users[0], ada, *users[1:105], name="Tuesday study")
        s.commit()
        slug = group.slug
    private = client.get("/c/revealed/leaderboard?board=private").get_data(as_text=True)
    assert 'class="mine"' not in private
    assert '<a href="/c/revealed/leaderboard?board=private&amp;page=2#my-private-team">Jump to my team</a>' in private
    second = client.get("/c/revealed/leaderboard?board=private&page=2").get_data(as_text=True)
    assert re.search(r'<tr id="my-private-team" aria-current="true" class="mine">.*?ada&#39;s team', second, re.S)
    assert "Jump to my team" not in second
    # In the group, ada is the 106th of its 106 teams: its board's second page, numbered within the group.
    grouped = client.get(f"/c/revealed/leaderboard?group={slug}").get_data(as_text=True)
    assert f'<a href="/c/revealed/leaderboard?group={slug}&amp;page=2#my-team">Jump to my team</a>' in grouped
    grouped_private = client.get(f"/c/revealed/leaderboard?board=private&group={slug}").get_data(as_text=True)
    assert (f'<a href="/c/revealed/leaderboard?board=private&amp;group={slug}&amp;page=2#my-private-team">'
            "Jump to my team</a>") in grouped_private
    row = re.search(r'<tr id="my-team" aria-current="true" class="mine">.*?</tr>',
                    client.get(f"/c/revealed/leaderboard?group={slug}&page=2").get_data(as_text=True), re.S).group(0)
    assert re.search(r'<td class="num">106</td>\s*<td class="num">111</td>', row), row
