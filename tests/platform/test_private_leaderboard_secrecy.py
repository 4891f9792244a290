"""Secrecy, checked by crawling every route the app has (so routes added later are checked too):

- before the reveal, no page or API response holds a private score, a private rank or a shake-up, nor the
  organizer's write-up or another team's;
- a learner cannot read, download, select or delete another team's submission: always 404;
- a study group's challenge is, to a non-member, indistinguishable from one that does not exist;
- to an ordinary member of a group, its boards and grades hold no private value before the reveal and, on a
  pseudonymous board, no classmate's username or team name.
"""

import json
import re
from datetime import timedelta

import pytest
from flask import url_for

from sqlalchemy import select

from heldout.leaderboard.best import refresh_team_best
from heldout.models import Challenge, GroupMembership, Submission, Team, User, utcnow
from heldout.platform.services.accounts import create_token
from tests.factories import (
    make_challenge,
    make_group,
    make_scored,
    make_team,
    make_user,
)
from tests.platform.conftest import csrf_token

# Distinctive digits, and nothing else on the site starts with them.
PRIVATE_SCORES = {"ada": 0.7318264, "bob": 0.6481937, "eve": 0.5927613,
                  "class-eve": 0.6183527, "class-zed": 0.5572914}
PUBLIC_SCORES = {"ada": 0.8105, "bob": 0.7902, "eve": 0.7703}
# Write-ups, revealed with the private board: the organizer's, and bob's and eve's teams' (ada crawls: her own
# team's is hers to read).
WRITEUPS = {"organizer": "Organizer write-up: the quokka trick", "bob": "Bob's write-up: gradient wombats",
            "eve": "Eve's write-up: numbat ensembling"}
SLUG, SECRET_SLUG, MISSING_SLUG = "open-race", "secret-club", "no-such-challenge"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Read-only calls of the Kaggle-compatible API, which are POSTs by that protocol.
KAGGLE_READS = re.compile(r"/(Get|List)[A-Za-z]*$")


def private_strings() -> list[str]:
    return [form for p in PRIVATE_SCORES.values() for form in (repr(p), f"{p:.4f}", f"{p:.5f}", f"{p:.6f}")] + [
        word for text in WRITEUPS.values() for word in (text, text.split(": ")[1])]


@pytest.fixture
def world(app):
    """An open challenge with three teams; Ada (a learner with an API token) leads a study group with Eve."""
    app.config["HELDOUT_RATE_LIMITS"] = {"token": "10000 per minute", "bad_token": "10000 per minute"}
    with app.extensions["heldout"].sessions() as s:
        challenge = make_challenge(s, SLUG, title="Open race", greater_is_better=True, max_team_size=2,
                                   max_final_submissions=1, ends_at=utcnow() + timedelta(days=7))
        users, subs = {}, {}
        for minutes, name in enumerate(("ada", "bob", "eve")):
            users[name] = make_user(s, name)
            team = make_team(s, challenge, users[name], name=f"team-{name}")
            team.invite_code = f"code-{name}"
            subs[name] = make_scored(s, team, users[name], PUBLIC_SCORES[name], PRIVATE_SCORES[name],
                                     at=utcnow() - timedelta(hours=3 - minutes), ci=(0.7791, 0.8299))
            refresh_team_best(s, challenge.id, team.id)
            team.writeup_md = WRITEUPS.get(name)
        challenge.writeup_md = WRITEUPS["organizer"]
        group = make_group(s, users["ada"], users["eve"], name="Ada's circle")
        s.commit()
        token = create_token(s, users["ada"], "crawler")
        return {"challenge": challenge.id, "users": {k: u.id for k, u in users.items()},
                "subs": {k: v.id for k, v in subs.items()}, "group": group.slug, "token": token}


def login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def routes(app, methods):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and set(methods) & set(rule.methods):
            yield rule


def fill(app, rule, world, *, slug=SLUG, submission="ada"):
    """A URL for ``rule`` with plausible values for each of its variables."""
    values = {}
    for name in rule.arguments:
        if name == "slug":
            values[name] = world["group"] if "/groups/" in rule.rule else slug
        elif name == "challenge":
            values[name] = slug
        elif name == "submission_id":
            values[name] = world["subs"][submission]
        elif name == "code":
            values[name] = "code-ada"
        elif name == "user_id":
            values[name] = world["users"]["eve"]
        elif re.search(rf"<int:{name}>", rule.rule):
            values[name] = 1
        else:
            values[name] = "train.csv"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def kaggle_body(world, *, slug=SLUG, submission="ada"):
    return {"competitionName": slug, "ref": world["subs"][submission], "fileName": "train.csv", "page": 1}


def crawl(app, client, world, slug=SLUG):
    """(url, response) for every GET route, with query strings that ask for the private board, and every
    read-only Kaggle call."""
    auth = {"Authorization": f"Bearer {world['token']}"}
    asks = "?board=private&private=true&include_private=1"
    queries = ("", asks, f"{asks}&group={world['group']}")
    for rule in routes(app, ["GET"]):
        # /metrics is the operators' (served to no participant: test_metrics), and its timings are numbers that
        # can spell a private score's digits by chance.
        if rule.endpoint == "metrics.scrape":
            continue
        url = fill(app, rule, world, slug=slug)
        for query in queries:
            yield url + query, client.get(url + query, headers=auth)
    for rule in routes(app, ["POST"]):
        if KAGGLE_READS.search(rule.rule):
            url = fill(app, rule, world, slug=slug)
            yield url, client.post(url, json=kaggle_body(world, slug=slug), headers=auth)


def private_values_in_json(value, path="") -> list[str]:
    """Paths of JSON fields that carry a private value: a key about private scores or shake-up, with a value."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if re.search(r"private|shake", key, re.I) and inner not in (None, False, [], {}, ""):
                found.append(f"{path}.{key}")
            found += private_values_in_json(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += private_values_in_json(inner, f"{path}[{i}]")
    return found


def leaks(response, url: str = "") -> list[str]:
    body = response.get_data(as_text=True)
    found = [s for s in private_strings() if s in body]
    # The OpenAPI document describes private fields (with no values): only its text is checked.
    if response.is_json and "openapi" not in url:
        found += private_values_in_json(json.loads(body))
    else:
        found += [marker for marker in ("private-leaderboard", "Shake-up", "shake-up", 'id="writeups"')
                  if marker in body]
    return found


def test_nothing_private_is_served_anywhere_before_the_reveal(app, client, world):
    login(client, world["users"]["ada"])
    crawled = list(crawl(app, client, world))
    assert len(crawled) > 40
    problems = {url: found for url, response in crawled if (found := leaks(response, url))}
    assert problems == {}
    # The crawl did reach the boards: the public scores are there.
    leaderboard = dict(crawled)[f"/c/{SLUG}/leaderboard"].get_data(as_text=True)
    assert "0.81050" in leaderboard and "hidden until the challenge ends" in leaderboard


CLASS_SLUG, CLASSMATE = "class-race", "zed-classmate"


@pytest.fixture
def classroom(app, world):
    """Eve is an ordinary member of a study group led by Teacher, with Zed; the group's own challenge is open and
    its boards are pseudonymous. Eve holds an API token."""
    with app.extensions["heldout"].sessions() as s:
        teacher, zed = make_user(s, "teacher"), make_user(s, CLASSMATE)
        eve = s.get(User, world["users"]["eve"])
        group = make_group(s, teacher, eve, zed, name="The class")
        group.board_identity = "pseudonyms"
        for number, user in enumerate((teacher, eve, zed), start=1):
            s.get(GroupMembership, (group.id, user.id)).number = number
        challenge = make_challenge(s, CLASS_SLUG, title="Class race", greater_is_better=True, group_id=group.id,
                                   max_final_submissions=1, ends_at=utcnow() + timedelta(days=7))
        subs = {}
        for minutes, (name, user) in enumerate((("eve", eve), ("zed", zed))):
            team = make_team(s, challenge, user, name=f"{user.username}'s team")
            team.invite_code = f"class-code-{name}"
            subs[name] = make_scored(s, team, user, 0.6 + minutes / 100, PRIVATE_SCORES[f"class-{name}"],
                                     at=utcnow() - timedelta(hours=2 - minutes), ci=(0.55, 0.65),
                                     private_ci_low=0.5, private_ci_high=0.7)
            refresh_team_best(s, challenge.id, team.id)
        s.commit()
        token = create_token(s, eve, "member")
        # The crawl's own submission is the viewer's (its "ada"), here Eve's.
        return dict(world, group=group.slug, token=token, subs={"ada": subs["eve"].id, "zed": subs["zed"].id},
                    users={**world["users"], "teacher": teacher.id})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a crawl is slow; one backend is enough
def test_an_ordinary_member_reads_no_private_value_and_no_classmates_name_on_group_boards_and_grades(
        app, client, classroom):
    login(client, classroom["users"]["eve"])
    crawled = list(crawl(app, client, classroom, slug=CLASS_SLUG))
    assert len(crawled) > 40
    problems = {url: found for url, response in crawled if (found := leaks(response, url))}
    assert problems == {}
    named = [url for url, response in crawled if CLASSMATE in response.get_data(as_text=True)]
    assert named == []
    pages = dict(crawled)
    # The crawl did reach the group's board, under the pseudonyms, and the grades, which are the lead's alone.
    board = pages[f"/c/{CLASS_SLUG}/leaderboard"].get_data(as_text=True)
    assert "Member #3" in board and "0.61000" in board
    grades = [url for url in pages if url.endswith("grades.csv")]
    assert len(grades) == 2 and {pages[url].status_code for url in grades} == {403}
    # After the reveal (the private board, the shake-up, the write-ups), still no classmate's name anywhere.
    with app.extensions["heldout"].sessions() as s:
        s.scalar(select(Challenge).where(Challenge.slug == CLASS_SLUG)).ends_at = utcnow() - timedelta(seconds=1)
        s.scalar(select(Team).where(Team.name == f"{CLASSMATE}'s team")).writeup_md = "Secret sauce of the third member"
        s.commit()
    revealed = dict(crawl(app, client, classroom, slug=CLASS_SLUG))
    assert "Secret sauce of the third member" in revealed[f"/c/{CLASS_SLUG}"].get_data(as_text=True)
    assert "Member #3" in revealed[f"/c/{CLASS_SLUG}/leaderboard?board=private&private=true&include_private=1"].get_data(
        as_text=True)
    assert [url for url, response in revealed.items() if CLASSMATE in response.get_data(as_text=True)] == []


def test_the_private_values_the_crawl_looks_for_appear_once_the_challenge_has_ended(app, client, world):
    with app.extensions["heldout"].sessions() as s:
        s.get(Challenge, world["challenge"]).ends_at = utcnow() - timedelta(seconds=1)
        s.commit()
    login(client, world["users"]["ada"])
    page = client.get(f"/c/{SLUG}/leaderboard?board=private")
    assert page.status_code == 200 and "0.73183" in page.get_data(as_text=True)
    assert "0.73183" in leaks(page) and "private-leaderboard" in leaks(page)
    challenge_page = client.get(f"/c/{SLUG}")
    assert set(WRITEUPS.values()) <= set(leaks(challenge_page)) and 'id="writeups"' in leaks(challenge_page)


def test_another_teams_submission_is_not_found_on_every_route(app, client, world):
    login(client, world["users"]["ada"])
    auth = {"Authorization": f"Bearer {world['token']}"}
    token = csrf_token(client, f"/c/{SLUG}/team")
    checked = []
    for rule in routes(app, ["GET", *WRITE_METHODS]):
        if "submission_id" not in rule.arguments:
            continue
        url = fill(app, rule, world, submission="eve")
        for method in sorted(set(rule.methods) & {"GET", *WRITE_METHODS}):
            response = client.open(url, method=method, headers=auth,
                                   data={"csrf_token": token, "selected": "1"} if method != "GET" else None)
            checked.append((method, url, response.status_code))
    for rule in routes(app, ["POST"]):
        if rule.rule.endswith("/GetSubmission"):
            url = fill(app, rule, world)
            checked.append(("POST", url, client.post(url, json=kaggle_body(world, submission="eve"),
                                                     headers=auth).status_code))
    assert {method for method, _url, _status in checked} >= {"GET", "POST"}
    assert [c for c in checked if c[2] != 404] == []
    with app.extensions["heldout"].sessions() as s:
        eves = s.get(Submission, world["subs"]["eve"])
        assert eves is not None and eves.selected_final is False


def normalised(response, slug: str) -> tuple[int, str]:
    body = response.get_data(as_text=True).replace(slug, "SLUG")
    body = re.sub(r"<time[^>]*>.*?</time>", "TIME", body)  # e.g. when the API token was last used
    return response.status_code, re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", body)


def test_a_group_challenge_is_indistinguishable_from_a_missing_one_for_non_members(app, client, world):
    login(client, world["users"]["bob"])
    with app.extensions["heldout"].sessions() as s:
        bob_token = create_token(s, s.get(User, world["users"]["bob"]), "bob")
    auth = {"Authorization": f"Bearer {bob_token}"}
    world = dict(world, token=bob_token)

    def listings():
        pages = {}
        for rule in routes(app, ["GET"]):
            # /metrics counts every submission for the operators; it is served to no participant (test_metrics).
            if not rule.arguments and rule.endpoint != "metrics.scrape":
                for query in ("", "?q=Clandestine", "?search=Clandestine", "?phase=active"):
                    pages[rule.rule + query] = normalised(client.get(rule.rule + query, headers=auth), SECRET_SLUG)
        for rule in routes(app, ["POST"]):
            if KAGGLE_READS.search(rule.rule) and not rule.arguments:
                body = {"page": 1, "search": "Clandestine"}
                pages[rule.rule] = normalised(client.post(rule.rule, json=body, headers=auth), SECRET_SLUG)
        return pages

    before = listings()
    with app.extensions["heldout"].sessions() as s:
        lead = make_user(s, "lead")
        group = make_group(s, lead, name="The club")
        secret = make_challenge(s, SECRET_SLUG, title="Clandestine challenge", group_id=group.id)
        team = make_team(s, secret, lead, name="insiders")
        team.invite_code = "code-secret"
        make_scored(s, team, lead, 0.5, 0.5)
        refresh_team_best(s, secret.id, team.id)
        s.commit()
    # Lists, search results and counts are exactly what they were before the group challenge existed.
    assert listings() == before

    compared = 0
    for rule in routes(app, ["GET"]):
        if "slug" in rule.arguments and not rule.rule.startswith("/groups/"):
            secret_response = client.get(fill(app, rule, world, slug=SECRET_SLUG), headers=auth)
            missing_response = client.get(fill(app, rule, world, slug=MISSING_SLUG), headers=auth)
            assert normalised(secret_response, SECRET_SLUG) == normalised(missing_response, MISSING_SLUG), rule.rule
            assert secret_response.status_code in (403, 404), rule.rule
            compared += 1
    for rule in routes(app, ["POST"]):
        if KAGGLE_READS.search(rule.rule):
            secret_response = client.post(rule.rule, json=kaggle_body(world, slug=SECRET_SLUG), headers=auth)
            missing_response = client.post(rule.rule, json=kaggle_body(world, slug=MISSING_SLUG), headers=auth)
            assert normalised(secret_response, SECRET_SLUG) == normalised(missing_response, MISSING_SLUG), rule.rule
    assert compared >= 8
    assert client.get("/teams/join/code-secret").status_code == 404


def test_the_private_board_appears_when_the_challenge_ends_to_the_second(session):
    from heldout.platform.services import leaderboards
    from heldout.platform.services.errors import Forbidden

    end = utcnow().replace(microsecond=0) + timedelta(days=1)
    challenge = make_challenge(session, ends_at=end)
    session.commit()
    assert not leaderboards.private_visible(challenge, end - timedelta(seconds=1))
    with pytest.raises(Forbidden, match="hidden until the challenge ends at") as hidden:
        leaderboards.private_board(session, challenge, None, now=end - timedelta(seconds=1))
    assert hidden.value.code == "private_hidden"
    assert leaderboards.private_visible(challenge, end)
    assert leaderboards.private_board(session, challenge, None, now=end).rows == []


def test_only_the_organizer_can_reveal_the_private_board_early(app, client, world):
    url = f"/c/{SLUG}/leaderboard/reveal"
    login(client, world["users"]["ada"])
    client.post(url, data={"csrf_token": csrf_token(client, f"/c/{SLUG}/leaderboard")})
    assert client.get(f"/c/{SLUG}/leaderboard?board=private").status_code == 403
    with app.extensions["heldout"].sessions() as s:
        organizer = make_user(s, "organizer", is_organizer=True)
        s.get(Challenge, world["challenge"]).created_by_id = organizer.id
        s.commit()
        organizer_id = organizer.id
    login(client, organizer_id)
    page = client.get(f"/c/{SLUG}/leaderboard").get_data(as_text=True)
    assert "Reveal the private leaderboard now" in page
    client.post(url, data={"csrf_token": csrf_token(client, f"/c/{SLUG}/leaderboard")})
    login(client, world["users"]["ada"])
    revealed = client.get(f"/c/{SLUG}/leaderboard?board=private").get_data(as_text=True)
    assert "0.73183" in revealed and "Shake-up" in revealed
