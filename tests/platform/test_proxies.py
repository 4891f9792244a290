"""Behind a reverse proxy (HELDOUT_TRUSTED_PROXIES=N): rate limits, the access log and /metrics' loopback rule
see the client the proxies name; with no proxy configured, a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from werkzeug.test import EnvironBuilder

from heldout.config import ConfigError, Settings
from heldout.platform import create_app
from tests.platform.conftest import csrf_token

PROXY = "127.0.0.1"  # the proxy runs on the web app's host: every request arrives from loopback
OUTSIDE = "203.0.113.9"
ANOTHER = "198.51.100.7"


@pytest.fixture
def database_url(sqlite_only):  # limits count in Redis and nothing here depends on the database
    return sqlite_only


@pytest.fixture
def proxied(settings, fake_redis):
    app = create_app(settings.with_(trusted_proxies=1), redis=fake_redis)
    app.config.update(TESTING=True, HELDOUT_RATE_LIMITS={"login": "2 per minute"})
    return app


@pytest.fixture
def direct(settings, fake_redis):
    app = create_app(settings, redis=fake_redis)
    app.config.update(TESTING=True, HELDOUT_RATE_LIMITS={"login": "2 per minute"})
    return app


def failed_login(client, peer: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": "nobody", "password": "wrong", "csrf_token": token},
                       headers=headers, environ_base={"REMOTE_ADDR": peer}).status_code


def access_log_address(app, peer: str, forwarded: str | None = None) -> str:
    """What gunicorn's access log records as the client (its ``h`` atom, read from the request's environ once
    the app has answered) for one request."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    # As gunicorn does: one environ, handed to the app and read again for the log line (the test client
    # would hand the app a copy).
    environ = EnvironBuilder(path="/healthz", headers=headers, environ_base={"REMOTE_ADDR": peer}).get_environ()
    environ["RAW_URI"] = "/healthz"
    body = app(environ, lambda status, headers, exc_info=None: None)
    b"".join(body)
    getattr(body, "close", lambda: None)()

    class Answer:
        status, sent, headers = "200 OK", 0, []

    return Logger(Config()).atoms(Answer(), Answer(), environ, timedelta(seconds=0.01))["h"]


def test_behind_a_trusted_proxy_limits_count_per_forwarded_client(proxied):
    client = proxied.test_client()
    assert [failed_login(client, PROXY, OUTSIDE) for _ in range(2)] == [400, 400]
    assert failed_login(client, PROXY, OUTSIDE) == 429
    # Another client behind the same proxy has a budget of its own.
    assert failed_login(client, PROXY, ANOTHER) == 400
    # A client forging the header gets the address the proxy appended, its own: still limited.
    assert failed_login(client, PROXY, f"{ANOTHER}, {OUTSIDE}") == 429


def test_behind_a_trusted_proxy_the_access_log_names_the_forwarded_client(proxied):
    assert access_log_address(proxied, PROXY, OUTSIDE) == OUTSIDE
    assert access_log_address(proxied, PROXY, f"10.0.0.1, {OUTSIDE}") == OUTSIDE  # only the last hop is believed


def test_behind_a_trusted_proxy_only_a_client_on_this_host_may_scrape(proxied):
    client = proxied.test_client()

    def scrape(forwarded: str | None, peer: str = PROXY, **headers) -> int:
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": peer}).status_code

    assert scrape("127.0.0.1") == 200  # e.g. Prometheus on this host, through the proxy
    assert scrape(None) == 200  # a direct request on this host, past the proxy
    assert scrape(OUTSIDE) == 404
    assert scrape(f"127.0.0.1, {OUTSIDE}") == 404  # an outside client forging loopback
    # A relayed request that lacks the proxy's entry never passes for a local one.
    assert scrape(None, Forwarded=f"for={OUTSIDE}") == 404


def test_with_no_proxy_configured_a_forged_header_changes_nothing(direct):
    client = direct.test_client()
    # The forged header does not make a fresh client: the budget is the connecting address's.
    assert failed_login(client, OUTSIDE, "10.1.1.1") == 400
    assert failed_login(client, OUTSIDE, "10.2.2.2") == 400
    assert failed_login(client, OUTSIDE, "10.3.3.3") == 429
    assert failed_login(client, ANOTHER) == 400
    assert access_log_address(direct, OUTSIDE, "127.0.0.1") == OUTSIDE
    # An outside client claiming to be local is still outside; a local one relaying outside requests is refused.
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"},
                      environ_base={"REMOTE_ADDR": OUTSIDE}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": OUTSIDE}).status_code == 404
    assert client.get("/metrics").status_code == 200


def test_the_number_of_trusted_proxies_is_read_from_the_environment(tmp_path):
    base = {"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SECRET_KEY": "x"}
    assert Settings.from_env(base).trusted_proxies == 0
    assert Settings.from_env({**base, "HELDOUT_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="HELDOUT_TRUSTED_PROXIES='one' is not a whole number"):
        Settings.from_env({**base, "HELDOUT_TRUSTED_PROXIES": "one"})
