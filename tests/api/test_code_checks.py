""""Check my file" for code and policies performs the visible run of a real submission on a worker: a policy
without act() fails it with a clear message, a good one passes, a crashing one shows its traceback. Nothing is
scored, no quota is used, and the upload is not kept.

The check request waits on a thread while this test's main thread works the checks queue, as a worker would,
with a real (bubblewrap) sandbox."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from heldout.models import Submission
from heldout.platform.services.publishing import load_challenge
from heldout.runner.context import RunnerContext, configure
from heldout.runner.queue import scoring_queue
from tests.bundles import COPY_SAMPLE_PREDICT, write_code_bundle
from tests.platform.conftest import csrf_token

CARTPOLE = Path(__file__).resolve().parents[2] / "challenges" / "cartpole-balance"
GOOD_POLICY = (CARTPOLE / "policy.py").read_text()


@pytest.fixture
def database_url(sqlite_only):
    return sqlite_only


@pytest.fixture
def challenges(svc, tmp_path):
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, write_code_bundle(tmp_path / "code"))
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, CARTPOLE)


@pytest.fixture
def check(app, svc, fake_redis, bwrap_sandbox, challenges, ada):
    """POST a file to a check route and work the checks queue until it is answered; returns the response."""
    context = RunnerContext.from_settings(svc.settings, redis=fake_redis)
    context.sandbox = bwrap_sandbox
    configure(context)
    client = app.test_client()

    def run(slug: str, source: str, name: str, *, page: bool = False):  # noqa: ANN202
        answer = {}
        if page:
            client.post("/login", data={"username": ada.username, "password": "correct horse",
                                        "csrf_token": csrf_token(client)})
            form = {"file": (io.BytesIO(source.encode()), name), "csrf_token": csrf_token(client, f"/c/{slug}")}
            request = lambda: client.post(f"/c/{slug}/check", data=form, content_type="multipart/form-data")  # noqa: E731
        else:
            request = lambda: client.post(f"/api/v1/challenges/{slug}/check", headers=ada.bearer,  # noqa: E731
                                          content_type="multipart/form-data",
                                          data={"file": (io.BytesIO(source.encode()), name)})
        waiting = threading.Thread(target=lambda: answer.update(response=request()))
        waiting.start()
        queue = scoring_queue(fake_redis)
        deadline = time.monotonic() + 30
        while waiting.is_alive() and queue.count == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        SimpleWorker([queue], connection=fake_redis).work(burst=True, with_scheduler=False)
        waiting.join(timeout=60)
        return answer["response"]

    yield run
    context.close()
    context.sessions.kw["bind"].dispose()
    with svc.sessions() as s:
        assert s.scalars(select(Submission)).all() == []  # nothing was submitted, so no quota was used
    assert not any((svc.settings.storage_dir / "checks").rglob("*.*")), "a checked upload was kept"


def test_a_policy_without_act_fails_the_check_saying_so(check):
    answer = check("cartpole-balance", "def decide(observation):\n    return 0\n", "policy.py").get_json()
    assert answer["ok"] is False
    assert "policy.py must define act(observation)" in answer["message"]
    assert "visible run" in answer["message"]


def test_a_good_policy_passes_the_check(check):
    answer = check("cartpole-balance", "print('loaded')\n" + GOOD_POLICY, "policy.py").get_json()
    assert answer["ok"] is True, answer
    assert answer["message"].startswith("Your policy played the 20 public episodes to the end")
    assert "loaded" in answer["logs"]


def test_a_crashing_policy_shows_its_traceback(check):
    source = "def act(observation):\n    return {'left': 0}[observation]\n"
    answer = check("cartpole-balance", source, "policy.py").get_json()
    assert answer["ok"] is False and "policy exited" in answer["message"]
    assert "Traceback (most recent call last)" in answer["details"]["logs"]
    assert "TypeError: unhashable type: 'list'" in answer["details"]["logs"]


def test_code_is_checked_by_its_visible_run_and_the_page_shows_its_logs(check):
    answer = check("tiny-code", "print('hello from predict.py')\n" + COPY_SAMPLE_PREDICT, "predict.py").get_json()
    assert answer["ok"] is True, answer
    assert answer["message"].startswith("Your code ran on the public example data")
    assert "(5 rows)" in answer["message"] and "hello from predict.py" in answer["logs"]

    page = check("tiny-code", "import csv\nraise ZeroDivisionError('no rows')\n", "predict.py", page=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Your code exited with status 1 in the visible run: ZeroDivisionError: no rows." in html
    assert "Traceback (most recent call last)" in html and "Logs of the visible run" in html
    assert "does not show that it finishes within the challenge" in html
