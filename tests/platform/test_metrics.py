"""``/metrics``: what a Prometheus scrape reads, and who may read it."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from heldout.models import SandboxLimit, SubmissionStatus
from heldout.platform import create_app
from heldout.platform.metrics import SCORING_BUCKETS
from heldout.runner.failures import FAILURE_REASONS, failure_reason
from heldout.runner.queue import enqueue_scoring, scoring_queue
from tests.factories import T0, make_challenge, make_submission, make_team, make_user

S = SubmissionStatus
L = SandboxLimit


def scrape(client, **kwargs) -> dict:
    """{(sample name, frozenset of label pairs): value} from one scrape, as Prometheus parses it."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def bucket(samples: dict, name: str, le: float | str, **labels) -> float:
    le = le if isinstance(le, str) else repr(float(le))
    return value(samples, f"{name}_bucket", le=le, **labels)


# A finished run: (status, run_s, seconds from entering the queue to the result, error, internal_error, the limit
# that stopped it, as the runner stores it).
FINISHED = [
    (S.SCORED, 0.3, 0.8, None, None, None),
    (S.SCORED, 4.0, 40.0, None, None, None),
    (S.SCORED, 700.0, 4000.0, None, None, None),
    (S.FAILED, 600.2, 650.0, "Your code was stopped: time limit of 600 s exceeded.", None, L.TIME),
    (S.FAILED, 12.0, 15.0, "Scoring stopped because the submission was too large to score: "
                           "memory limit of 2048 MiB exceeded.", None, L.MEMORY),
    (S.FAILED, 1.5, 3.0, "Your code was stopped: process limit of 64 processes/threads reached.", None, L.PIDS),
    (S.FAILED, 0.7, 1.2, "Column 'y' has 3 missing values (column 'y')", None, None),
    # Rejected before any sandbox ran: no run time, no result time.
    (S.FAILED, None, None, "The zip has no predict.py at its top level.", None, None),
    (S.ERROR, None, 2.0, None, "sandbox unavailable: the Docker daemon does not answer", None),
    (S.ERROR, 3.0, 4.0, None, "scorer exited with 1: Traceback ...", None),
]


@pytest.fixture
def entry(session):
    user = make_user(session)
    team = make_team(session, make_challenge(session), user)
    session.commit()
    return team, user


def test_a_scrape_reports_the_queue_the_runs_and_their_failures(app, client, session, fake_redis, entry):
    team, user = entry
    queued = [make_submission(session, team, user).id for _ in range(3)]
    make_submission(session, team, user, status=S.RUNNING, started_at=T0)
    for status, run_s, latency_s, error, internal, limit in FINISHED:
        make_submission(session, team, user, status=status, at=T0, run_s=run_s, error=error,
                        internal_error=internal, limit_hit=limit,
                        finished_at=None if latency_s is None else T0 + timedelta(seconds=latency_s))
    session.commit()
    # Two of the three queued submissions have their job in Redis (say the third's enqueue failed).
    queue = scoring_queue(fake_redis)
    for sid in queued[:2]:
        assert enqueue_scoring(queue, sid, 1)

    samples = scrape(client)

    assert value(samples, "heldout_queue_jobs") == 2
    assert value(samples, "heldout_submissions_queued") == 3
    assert value(samples, "heldout_jobs_in_flight") == 1
    assert value(samples, "heldout_metrics_source_up", source="redis") == 1
    assert value(samples, "heldout_metrics_source_up", source="database") == 1

    run = "heldout_scoring_run_seconds"
    # Scored runs took 0.3, 4 and 700 s: cumulative counts under each bound, then +Inf, count and sum.
    assert [bucket(samples, run, le, status="scored") for le in SCORING_BUCKETS] == \
        [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3]
    assert bucket(samples, run, "+Inf", status="scored") == 3
    assert value(samples, f"{run}_count", status="scored") == 3
    assert value(samples, f"{run}_sum", status="scored") == pytest.approx(704.3)
    # Failed runs with a run time: 600.2, 12, 1.5 and 0.7 s (the rejected zip never ran).
    assert bucket(samples, run, 0.5, status="failed") == 0
    assert bucket(samples, run, 1, status="failed") == 1
    assert bucket(samples, run, 2, status="failed") == 2
    assert bucket(samples, run, 30, status="failed") == 3
    assert bucket(samples, run, 600, status="failed") == 3
    assert bucket(samples, run, 1800, status="failed") == 4
    assert value(samples, f"{run}_count", status="failed") == 4
    assert value(samples, f"{run}_sum", status="failed") == pytest.approx(614.4)

    latency = "heldout_scoring_latency_seconds"
    # Queue to result for the scored ones: 0.8, 40 and 4000 s; the last is past every finite bound.
    assert [bucket(samples, latency, le, status="scored") for le in SCORING_BUCKETS] == \
        [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert bucket(samples, latency, "+Inf", status="scored") == 3
    assert value(samples, f"{latency}_sum", status="scored") == pytest.approx(4040.8, abs=1e-3)
    assert value(samples, f"{latency}_count", status="failed") == 4
    assert bucket(samples, latency, 5, status="failed") == 2
    assert bucket(samples, latency, 600, status="failed") == 3
    assert value(samples, f"{latency}_sum", status="failed") == pytest.approx(669.2, abs=1e-3)

    failures = {reason: value(samples, "heldout_sandbox_failures", reason=reason) for reason in FAILURE_REASONS}
    assert failures == {"timeout": 1, "memory": 1, "resource_limit": 1, "participant_error": 2,
                        "sandbox_unavailable": 1, "platform_error": 1}
    # The database's grouping is the same as the one the worker's log lines use.
    in_python = [failure_reason(status, limit, internal) for status, _r, _l, _e, internal, limit in FINISHED]
    assert {reason: in_python.count(reason) for reason in FAILURE_REASONS} == failures


def test_failures_are_counted_by_the_stored_limit_never_by_the_words_of_the_message(client, session, entry):
    team, user = entry
    # Each limit the sandbox reports, stored with a message that names no limit at all.
    for limit in SandboxLimit:
        make_submission(session, team, user, status=S.FAILED, error="Your code was stopped.", limit_hit=limit)
    # A participant's own message that happens to read like a limit is still their error.
    make_submission(session, team, user, status=S.FAILED, error="my model: time limit of 3 s exceeded")
    session.commit()
    samples = scrape(client)
    failures = {reason: value(samples, "heldout_sandbox_failures", reason=reason) for reason in FAILURE_REASONS}
    assert failures == {"timeout": 1, "memory": 1, "resource_limit": 4, "participant_error": 1,
                        "sandbox_unavailable": 0, "platform_error": 0}
    assert [failure_reason(S.FAILED, limit, None) for limit in SandboxLimit] == \
        ["timeout", "memory", "resource_limit", "resource_limit", "resource_limit", "resource_limit"]


def test_an_empty_platform_still_reports_every_series_at_zero(client):
    samples = scrape(client)
    assert value(samples, "heldout_queue_jobs") == 0
    assert value(samples, "heldout_submissions_queued") == 0
    assert value(samples, "heldout_jobs_in_flight") == 0
    for status in ("scored", "failed"):
        assert bucket(samples, "heldout_scoring_run_seconds", "+Inf", status=status) == 0
        assert value(samples, "heldout_scoring_latency_seconds_count", status=status) == 0
    assert all(value(samples, "heldout_sandbox_failures", reason=reason) == 0 for reason in FAILURE_REASONS)


def test_http_requests_are_timed_by_endpoint_and_status(client):
    name = "heldout_http_request_duration_seconds"
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    after = scrape(client)

    def grew(endpoint: str, status: str) -> float:
        key = (f"{name}_count", frozenset({"endpoint": endpoint, "status": status}.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("health.healthz", "200") == 2
    assert grew("unmatched", "404") == 1
    # The scrape before this one was timed too, once it had answered.
    assert grew("metrics.scrape", "200") == 1
    inf = (f"{name}_bucket", frozenset({"endpoint": "health.healthz", "status": "200", "le": "+Inf"}.items()))
    assert after[inf] == after[(f"{name}_count", frozenset({"endpoint": "health.healthz", "status": "200"}.items()))]
    assert after[(f"{name}_sum", frozenset({"endpoint": "health.healthz", "status": "200"}.items()))] > 0


def test_a_redis_that_does_not_answer_drops_its_series_not_the_scrape(settings):
    app = create_app(settings, redis=Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    samples = scrape(app.test_client())
    assert value(samples, "heldout_metrics_source_up", source="redis") == 0
    assert value(samples, "heldout_metrics_source_up", source="database") == 1
    assert not any(name == "heldout_queue_jobs" for name, _labels in samples)
    assert value(samples, "heldout_submissions_queued") == 0


# --- who may scrape ---------------------------------------------------------------------------------------------

def test_without_a_token_only_this_host_may_scrape(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    # A reverse proxy on this host relays outside requests from 127.0.0.1: its forwarding headers give it away.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404


@pytest.fixture
def token_client(settings, fake_redis):
    app = create_app(settings.with_(metrics_token="scrape-me"), redis=fake_redis)
    return app.test_client()


def test_with_a_token_any_host_may_scrape_with_it_and_no_one_without(token_client):
    far = {"REMOTE_ADDR": "203.0.113.9"}
    scraped = token_client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200 and b"heldout_jobs_in_flight" in scraped.data
    assert token_client.get("/metrics", environ_base=far).status_code == 403
    assert token_client.get("/metrics", environ_base=far,
                            headers={"Authorization": "Bearer scrape-you"}).status_code == 403
    assert token_client.get("/metrics", environ_base=far,
                            headers={"Authorization": "Basic scrape-me"}).status_code == 403
    # Once a token is set, being on this host is not enough.
    refused = token_client.get("/metrics")
    assert refused.status_code == 403 and b"heldout_" not in refused.data


def test_scrapes_are_never_rate_limited(app, client):
    app.config["HELDOUT_RATE_LIMITS"] = {name: "1 per minute" for name in ("login", "bad_token", "token", "submit")}
    assert all(client.get("/metrics").status_code == 200 for _ in range(5))
