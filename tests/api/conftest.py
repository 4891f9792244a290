"""An app with the tiny challenge loaded the real way, and learners holding API tokens."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from heldout.cli import main
from heldout.platform.services.publishing import load_challenge
from tests.bundles import write_tiny_bundle
from tests.helpers import Learner, make_learner

SLUG = "tiny-regression"


@pytest.fixture
def svc(app):
    return app.extensions["heldout"]


@pytest.fixture
def bundle(tmp_path):
    return write_tiny_bundle(tmp_path / "bundle")


@pytest.fixture
def tiny(svc, bundle):
    """The tiny regression challenge: files, solution and spec in storage, published."""
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, bundle)
    return bundle


@pytest.fixture
def ada(svc) -> Learner:
    return make_learner(svc, "ada")


@pytest.fixture
def grace(svc) -> Learner:
    return make_learner(svc, "grace")


# -- the `heldout` client against the app served over real HTTP on a thread ---------------------------------------

@pytest.fixture
def server(app):
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "HELDOUT_URL", "HELDOUT_TOKEN", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def heldout(server, home, ada, monkeypatch, capsys):
    """Run `heldout ARGS...` as ada; returns (exit status, stdout, stderr)."""
    monkeypatch.setenv("HELDOUT_URL", server)
    monkeypatch.setenv("HELDOUT_TOKEN", ada.token)

    def run(*args: str):
        capsys.readouterr()
        try:
            status = main(list(args))
        except SystemExit as exited:  # argparse's way out: a usage error, or --help
            status = exited.code
        out, err = capsys.readouterr()
        return status, out, err

    return run
