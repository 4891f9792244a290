"""Write-ups revealed at close: the organizer's (the bundle's writeup.md or the site's form) and each team's note on
its final submissions. Before the reveal only their authors read them; after it the challenge page and the API list
them, sanitized, next to the private ranks. (tests/platform/test_private_leaderboard_secrecy.py crawls every route
for them before the reveal.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.challenges.bundle import load_bundle
from heldout.challenges.errors import BundleErrors
from heldout.leaderboard.best import refresh_team_best
from heldout.models import Challenge, User, utcnow
from heldout.platform.services import teams, writeups
from heldout.platform.services.errors import Forbidden, ServiceError
from heldout.platform.services.publishing import load_challenge
from heldout.storage import LocalStorage
from tests.bundles import write_tiny_bundle
from tests.factories import make_challenge, make_scored, make_team, make_user
from tests.platform.conftest import csrf_token

END = utcnow().replace(microsecond=0) + timedelta(days=1)


def _race(session):
    """ada (private 0.9) and grace (private 0.95) each with a scored final, lovelace with none; higher is better;
    the challenge ends tomorrow and its organizer wrote a write-up."""
    challenge = make_challenge(session, "race", greater_is_better=True, metric="accuracy", ends_at=END,
                               writeup_md="## How it was meant\n\nTarget encoding. <script>alert(1)</script>")
    people = {name: make_user(session, name) for name in ("ada", "grace", "lovelace")}
    for name, (public, private_score) in {"ada": (0.8, 0.9), "grace": (0.85, 0.95)}.items():
        team = make_team(session, challenge, people[name], name=f"team-{name}")
        make_scored(session, team, people[name], public, private_score, at=END - timedelta(days=2))
        refresh_team_best(session, challenge.id, team.id)
    session.commit()
    return challenge, people


@pytest.fixture
def race(session):
    return _race(session)


def login(app, client, username):
    with app.extensions["heldout"].sessions() as s, client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(s.scalar(select(User.id).where(User.username == username)))
        flask_session["_fresh"] = True


def test_before_the_reveal_only_the_team_reads_its_write_up(session, race):
    challenge, people = race
    writeups.set_team_writeup(session, challenge, people["ada"], "  We *stacked* two GBMs.  ")
    assert teams.team_view(session, challenge, people["ada"]).writeup == "We *stacked* two GBMs."
    assert teams.team_view(session, challenge, people["grace"]).writeup is None
    with pytest.raises(Forbidden, match="Write-ups are hidden until the private leaderboard is revealed") as hidden:
        writeups.writeups(session, challenge, people["grace"], now=END - timedelta(seconds=1))
    assert hidden.value.code == "private_hidden"


def test_after_the_reveal_write_ups_are_listed_by_private_rank_with_the_organizers(session, race):
    challenge, people = race
    writeups.set_team_writeup(session, challenge, people["ada"], "Stacking.")
    writeups.set_team_writeup(session, challenge, people["grace"], "One good feature.")
    shown = writeups.writeups(session, challenge, people["ada"], now=END)
    assert shown.organizer.startswith("## How it was meant")
    assert [(w.rank, w.team, w.private_score, w.markdown, w.is_mine) for w in shown.teams] == [
        (1, "team-grace", 0.95, "One good feature.", False), (2, "team-ada", 0.9, "Stacking.", True)]
    # The organizer's early reveal shows them too.
    challenge.private_revealed = True
    assert len(writeups.writeups(session, challenge, None, now=END - timedelta(days=1)).teams) == 2


def test_a_write_up_needs_a_scored_final_and_fits_in_ten_thousand_characters(session, race):
    challenge, people = race
    with pytest.raises(ServiceError, match="no scored final submission to attach a write-up to") as none:
        writeups.set_team_writeup(session, challenge, people["lovelace"], "Nothing submitted yet.")
    assert none.value.field == "writeup" and none.value.code == "no_finals"
    writeups.set_team_writeup(session, challenge, people["ada"], "Kept.")
    with pytest.raises(ServiceError, match="at most 10,000 characters; this one has 10,001") as long:
        writeups.set_team_writeup(session, challenge, people["ada"], "x" * 10_001)
    assert long.value.field == "writeup"
    assert teams.team_view(session, challenge, people["ada"]).writeup == "Kept."  # nothing changed
    writeups.set_team_writeup(session, challenge, people["ada"], "   ")
    assert teams.team_view(session, challenge, people["ada"]).writeup is None  # blank removes it


def test_the_challenge_page_shows_write_ups_sanitized_only_after_the_reveal(app, client, auth):
    with app.extensions["heldout"].sessions() as s:
        challenge, people = _race(s)
        writeups.set_team_writeup(s, challenge, people["grace"], "[click](javascript:alert(1)) **bold move**")
    auth.register("reader")
    before = client.get("/c/race").get_data(as_text=True)
    assert 'id="writeups"' not in before and "Target encoding" not in before and "bold move" not in before
    assert client.get("/api/v1/challenges/race/writeups").status_code == 403
    with app.extensions["heldout"].sessions() as s:
        s.query(Challenge).filter_by(slug="race").one().ends_at = utcnow() - timedelta(seconds=1)
        s.commit()
    after = client.get("/c/race").get_data(as_text=True)
    assert 'id="writeups"' in after and "Target encoding" in after and "<strong>bold move</strong>" in after
    assert "<script>" not in after and "javascript:" not in after
    api = client.get("/api/v1/challenges/race/writeups").get_json()
    assert api["organizer"].startswith("## How it was meant")
    assert [(t["rank"], t["team"], t["writeup"]) for t in api["teams"]] == [
        (1, "team-grace", "[click](javascript:alert(1)) **bold move**")]


def test_a_team_write_up_shows_images_only_from_this_site_so_none_can_track_its_readers(app, client, auth):
    with app.extensions["heldout"].sessions() as s:
        challenge, people = _race(s)
        challenge.ends_at = utcnow() - timedelta(seconds=1)
        writeups.set_team_writeup(s, challenge, people["grace"], (
            "![pixel](https://tracker.example/p.png?reader=1) ![slashes](//tracker.example/q.png) "
            "![backslash](/\\tracker.example/r.png) ![chart](/static/favicon.svg) [notebook](https://example.org/nb)"))
        s.commit()
    auth.register("reader")
    page = client.get("/c/race").get_data(as_text=True)
    writeup = page[page.index('id="writeup-team-'):]
    assert "tracker.example" not in writeup
    assert '<img alt="pixel">' in writeup and 'src="/static/favicon.svg"' in writeup
    assert 'href="https://example.org/nb"' in writeup  # a link loads nothing until a reader follows it


def test_a_team_writes_its_write_up_on_its_team_page(app, client):
    with app.extensions["heldout"].sessions() as s:
        _race(s)
    login(app, client, "ada")
    token = csrf_token(client, "/c/race/team")
    saved = client.post("/c/race/team/writeup", data={"csrf_token": token, "writeup": "Two GBMs, stacked."},
                        follow_redirects=True).get_data(as_text=True)
    assert "write-up is saved" in saved and "Two GBMs, stacked." in saved
    too_long = client.post("/c/race/team/writeup", data={"csrf_token": token, "writeup": "x" * 10_001},
                           follow_redirects=True).get_data(as_text=True)
    assert "at most 10,000 characters" in too_long and "Two GBMs, stacked." in too_long


def test_the_bundles_writeup_md_is_the_organizers_write_up(tmp_path, session):
    bundle = write_tiny_bundle(tmp_path / "bundle")
    (bundle / "writeup.md").write_text("# What we hoped you would find\n\nThe y = 3x line.\n")
    storage = LocalStorage(tmp_path / "files")
    load_challenge(session, storage, None, bundle)
    challenge = session.query(Challenge).filter_by(slug="tiny-regression").one()
    assert challenge.writeup_md.startswith("# What we hoped you would find")
    assert "writeup.md" not in {f.name for f in challenge.files}  # never a learner download
    # Written on the site, then the bundle reloaded without writeup.md: the site's stays.
    writeups.set_organizer_writeup(session, challenge, "Edited on the site.")
    (bundle / "writeup.md").unlink()
    load_challenge(session, storage, None, bundle)
    assert session.get(Challenge, challenge.id).writeup_md == "Edited on the site."
    (bundle / "writeup.md").write_bytes(b"caf\xe9\n")
    with pytest.raises(BundleErrors, match="writeup.md: is not UTF-8 text"):
        load_bundle(bundle, check_sample=False)


def test_a_team_attaches_its_write_up_through_the_api(app, client):
    from heldout.platform.services.accounts import create_token

    with app.extensions["heldout"].sessions() as s:
        _challenge, people = _race(s)
        auth = {name: {"Authorization": f"Bearer {create_token(s, people[name], 'api')}"}
                for name in ("ada", "lovelace")}
    url = "/api/v1/challenges/race/team/writeup"
    saved = client.put(url, json={"writeup": "Two GBMs, stacked."}, headers=auth["ada"])
    assert saved.status_code == 200 and saved.get_json()["writeup"] == "Two GBMs, stacked."
    assert client.get("/api/v1/challenges/race/team", headers=auth["ada"]).get_json()["writeup"] == \
        "Two GBMs, stacked."
    not_json = client.put(url, data="hello", headers=auth["ada"])
    assert not_json.status_code == 400 and not_json.get_json()["field"] == "writeup"
    no_finals = client.put(url, json={"writeup": "hi"}, headers=auth["lovelace"])
    assert no_finals.status_code == 400 and no_finals.get_json()["code"] == "no_finals"
    hidden = client.get("/api/v1/challenges/race/writeups", headers=auth["ada"])
    assert hidden.status_code == 403 and hidden.get_json()["code"] == "private_hidden"
