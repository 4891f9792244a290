"""The admins' workers page (and ``heldout workers``): each worker's state, host, sandbox, heartbeat and jobs."""

import argparse
import json
import re
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from heldout.commands import workers_list
from heldout.models import User, Worker, utcnow
from heldout.platform.services import workers
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.platform.conftest import csrf_token

PASSWORD = "admin-password"


def _sessions(app):
    return app.extensions["heldout"].sessions


def _log_in_new(client, app, username, **roles):
    with _sessions(app)() as s:
        s.add(User(username=username, password_hash=generate_password_hash(PASSWORD), **roles))
        s.commit()
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})


def _add_worker(session, name, *, beat_s_ago=1.0, heartbeat_s=10, stopped=False, **extra):
    now = utcnow()
    last = now - timedelta(seconds=beat_s_ago)
    worker = Worker(name=name, hostname=f"host-{name}", pid=4242, sandbox_backend="docker+runsc", version="0.1.0",
                    heartbeat_s=heartbeat_s, started_at=last - timedelta(hours=1), last_heartbeat_at=last,
                    stopped_at=last if stopped else None, **extra)
    session.add(worker)
    session.flush()
    return worker


@pytest.fixture
def fleet(app):
    """One worker in each state; the alive one runs a submission."""
    with _sessions(app)() as s:
        user = make_user(s)
        submission = make_submission(s, make_team(s, make_challenge(s), user), user)
        _add_worker(s, "busy", jobs_done=12, jobs_errored=1, current_submission_id=submission.id)
        _add_worker(s, "gone-quiet", beat_s_ago=31)
        _add_worker(s, "shut-down", beat_s_ago=120, stopped=True, jobs_done=3)
        _add_worker(s, "long-dead", beat_s_ago=3 * 86400)
        s.commit()
        return submission.id


# --- the rules ---------------------------------------------------------------------------------------------------

def test_a_worker_is_stale_after_three_missed_heartbeats_of_its_own_interval():
    now = utcnow()
    worker = Worker(heartbeat_s=10, last_heartbeat_at=now - timedelta(seconds=30), stopped_at=None)
    assert workers.worker_state(worker, now) == "alive"
    assert workers.worker_state(worker, now + timedelta(seconds=1)) == "stale"
    worker.heartbeat_s = 60
    assert workers.worker_state(worker, now + timedelta(seconds=100)) == "alive"
    worker.stopped_at = now
    assert workers.worker_state(worker, now + timedelta(days=9)) == "stopped"


@pytest.mark.parametrize("seconds, text", [(0, "0 s ago"), (4.7, "4 s ago"), (119, "119 s ago"), (120, "2 min ago"),
                                           (7199, "119 min ago"), (7200, "2 h ago"), (3 * 86400, "3 d ago")])
def test_ages_read_as_x_ago(seconds, text):
    assert workers.ago(seconds) == text


def test_the_list_puts_alive_workers_first_and_leaves_out_long_silent_ones(app, fleet):
    with _sessions(app)() as s:
        listing = workers.list_workers(s)
        everything = workers.list_workers(s, include_silent=True)
    assert [(w.name, w.state) for w in listing.workers] == [("busy", "alive"), ("gone-quiet", "stale"),
                                                             ("shut-down", "stopped")]
    assert listing.hidden == 1
    assert [(w.name, w.state) for w in everything.workers] == [
        ("busy", "alive"), ("gone-quiet", "stale"), ("long-dead", "stale"), ("shut-down", "stopped")]
    assert everything.hidden == 0
    busy = listing.workers[0]
    assert (busy.jobs_done, busy.jobs_errored, busy.current_submission_id) == (12, 1, fleet)
    assert busy.heartbeat_ago == "1 s ago"


# --- the page ----------------------------------------------------------------------------------------------------

def test_an_admin_sees_every_worker_its_state_heartbeat_jobs_and_running_submission(client, app, fleet):
    _log_in_new(client, app, "root", is_admin=True)
    response = client.get("/admin/workers")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 alive, 1 stale, 1 stopped." in page
    rows = re.findall(r"<tr id=\"worker-\d+\">(.*?)</tr>", page, flags=re.S)
    assert len(rows) == 3
    busy, quiet, stopped = rows
    for text in ("<code>busy</code>", "host-busy", "4242", "docker+runsc", "0.1.0", "worker-alive",
                 ">12<", ">1<", f'href="/submissions/{fleet}"'):
        assert text in busy, text
    # One second old when written; a loaded machine may take another second or two to render the page.
    assert re.search(r"\b[1-9] s ago; every 10 s", busy), busy
    assert "worker-stale" in quiet and "31 s ago" in quiet
    assert "worker-stopped" in stopped and "2 min ago" in stopped and "stopped <time" in stopped
    assert 'scope="row"' in busy and "<caption>" in page and "<time datetime=" in busy
    assert "long-dead" not in page and "1 worker silent for more than a day is not shown" in page
    assert "long-dead" in client.get("/admin/workers?all=1").get_data(as_text=True)


def test_the_nav_links_the_workers_page_for_admins_only(client, app, auth):
    auth.register()
    assert 'href="/admin/workers"' not in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    _log_in_new(client, app, "root", is_admin=True)
    assert 'href="/admin/workers"' in client.get("/").get_data(as_text=True)


def test_with_no_worker_the_page_says_how_to_start_one(client, app):
    _log_in_new(client, app, "root", is_admin=True)
    assert "Start one with <code>heldout worker</code>" in client.get("/admin/workers").get_data(as_text=True)


def test_a_learner_and_an_anonymous_visitor_find_nothing_there(client, app, auth, fleet):
    anonymous = client.get("/admin/workers")
    assert anonymous.status_code == 404 and "busy" not in anonymous.get_data(as_text=True)
    auth.register()
    learner = client.get("/admin/workers")
    assert learner.status_code == 404 and "busy" not in learner.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    _log_in_new(client, app, "olga", is_organizer=True)
    assert client.get("/admin/workers").status_code == 404


# --- the command -------------------------------------------------------------------------------------------------

def test_heldout_workers_lists_the_same(settings, app, fleet, capsys):
    assert workers_list(settings, argparse.Namespace(all=False, json=False)) == 0
    out = capsys.readouterr().out
    assert "busy" in out and "alive" in out and "docker+runsc" in out and "gone-quiet" in out
    assert "long-dead" not in out and "1 silent for more than a day not shown" in out
    assert workers_list(settings, argparse.Namespace(all=True, json=True)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [w["name"] for w in listed] == ["busy", "gone-quiet", "long-dead", "shut-down"]
    assert listed[0]["current_submission_id"] == fleet and listed[0]["state"] == "alive"
