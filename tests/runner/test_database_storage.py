"""HELDOUT_STORAGE=database and =s3 from end to end: the web app keeps every file in the database (or an S3
bucket on a real S3 API server), and a worker whose data directory holds no files at all scores real
submissions in a real (bubblewrap) sandbox from copies in its cache."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from heldout.config import Settings
from heldout.models import Submission, SubmissionStatus
from heldout.platform import create_app
from heldout.platform.services.publishing import load_challenge
from heldout.runner.context import RunnerContext, configure
from heldout.runner.jobs import score_submission
from heldout.storage import DatabaseStorage
from heldout.storage.s3 import S3Storage
from tests.helpers import make_learner
from tests.bundles import COPY_SAMPLE_PREDICT, perfect_predictions, write_code_bundle, write_tiny_bundle
from tests.conftest import database_url_for
from tests.s3_server import s3_env

BACKENDS = {"database": DatabaseStorage, "s3": S3Storage}


# The database on both engines; S3 once (its database is beside the point).
@pytest.fixture(params=["sqlite-database", "postgresql-database", "postgresql-s3"])
def backend(request) -> tuple[str, str]:  # noqa: ANN001
    return tuple(request.param.split("-"))


@pytest.fixture
def database_url(backend, tmp_path, sqlite_template, postgres_database_url) -> str:  # noqa: ANN001
    return database_url_for(backend[0], tmp_path, sqlite_template, postgres_database_url)


@pytest.fixture
def storage_env(backend, request) -> dict:  # noqa: ANN001
    """HELDOUT_STORAGE and what it needs: files in the database, or in a fresh S3 bucket."""
    if backend[1] == "s3":
        return s3_env(request.getfixturevalue("s3_bucket"))
    return {"HELDOUT_STORAGE": "database"}


def _settings(data_dir, database_url: str, storage_env: dict) -> Settings:  # noqa: ANN001
    return Settings.from_env({"HELDOUT_DATA_DIR": str(data_dir), "HELDOUT_DATABASE_URL": database_url,
                              "HELDOUT_SECRET_KEY": "test-secret", "HELDOUT_SANDBOX": "bubblewrap", **storage_env})


def _dispose(storage) -> None:  # noqa: ANN001
    if isinstance(storage, DatabaseStorage):
        storage.engine.dispose()


def _files_under(folder) -> list[str]:  # noqa: ANN001
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def web(tmp_path, database_url, fake_redis, storage_env):  # noqa: ANN001, ANN201
    app = create_app(_settings(tmp_path / "web", database_url, storage_env), redis=fake_redis)
    app.config.update(TESTING=True)
    svc = app.extensions["heldout"]
    assert isinstance(svc.storage, BACKENDS[storage_env["HELDOUT_STORAGE"]])
    yield app
    svc.engine.dispose()
    _dispose(svc.storage)


def _submit(client, learner, slug: str, data: bytes, name: str):  # noqa: ANN001, ANN202
    response = client.post(f"/api/v1/challenges/{slug}/submissions", headers=learner.bearer,
                           content_type="multipart/form-data", data={"file": (io.BytesIO(data), name)})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def test_a_worker_with_no_files_scores_from_the_shared_storage(tmp_path, web, bwrap_sandbox, fake_redis, storage_env):
    svc, client = web.extensions["heldout"], web.test_client()
    tiny = write_tiny_bundle(tmp_path / "tiny")
    code = write_code_bundle(tmp_path / "code")
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, tiny)
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, code)
    ada = make_learner(svc, "ada")
    predictions = _submit(client, ada, "tiny-regression", perfect_predictions(tiny), "preds.csv")
    program = _submit(client, ada, "tiny-code", COPY_SAMPLE_PREDICT.encode(), "predict.py")
    assert _files_under(tmp_path / "web") == []  # the web host kept nothing on its disk either

    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    context = RunnerContext.from_settings(_settings(worker_dir, svc.settings.database_url, storage_env),
                                          redis=fake_redis)
    context.sandbox = bwrap_sandbox
    configure(context)
    try:
        assert score_submission(predictions) == "scored"
        assert score_submission(program) == "scored"
        with context.sessions() as s:
            scored = s.get(Submission, predictions)
            ran = s.get(Submission, program)
            assert scored.status == SubmissionStatus.SCORED and scored.public_score == pytest.approx(0.0, abs=1e-6)
            assert ran.status == SubmissionStatus.SCORED, (ran.error, ran.internal_error, ran.logs)
            assert ran.public_score == pytest.approx(0.1, abs=0.1)  # y = 3x + noise(0.1)
        # All the worker wrote is its cache: copies fetched from the storage, readable by the sandbox user.
        cached = _files_under(worker_dir)
        assert cached and all(name.startswith("cache/files-") for name in cached)
        assert not (worker_dir / "files").exists()
    finally:
        context.close()
        context.sessions.kw["bind"].dispose()
        _dispose(context.storage)


def test_downloads_and_dry_runs_stream_from_the_shared_storage(tmp_path, web):
    svc, client = web.extensions["heldout"], web.test_client()
    tiny = write_tiny_bundle(tmp_path / "tiny", rows=50_000)  # train.csv spans several 1 MiB chunks
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, tiny)
    ada = make_learner(svc, "ada")
    content = (tiny / "train.csv").read_bytes()
    assert len(content) > 1024 * 1024

    whole = client.get("/api/v1/challenges/tiny-regression/files/train.csv")
    assert whole.status_code == 200 and whole.data == content
    assert int(whole.headers["Content-Length"]) == len(content) and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    rest = client.get("/api/v1/challenges/tiny-regression/files/train.csv", headers={"Range": "bytes=1048570-"})
    assert rest.status_code == 206 and rest.data == content[1048570:]
    resumed = client.get("/api/v1/challenges/tiny-regression/files/train.csv",
                         headers={"Range": "bytes=10-19", "If-Range": whole.headers["ETag"]})
    assert resumed.status_code == 206 and resumed.data == content[10:20]
    assert client.get("/api/v1/challenges/tiny-regression/files/train.csv",
                      headers={"Range": f"bytes={len(content) + 5}-"}).status_code == 416
    page = client.get("/c/tiny-regression/files/test.csv")
    assert page.status_code == 200 and page.data == (tiny / "test.csv").read_bytes()

    archive = client.get("/api/v1/challenges/tiny-regression/files.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.data)) as opened:
        assert opened.read("train.csv") == content
    assert client.get("/api/v1/challenges/tiny-regression/files.zip").data == archive.data

    check = client.post("/api/v1/challenges/tiny-regression/check", headers=ada.bearer,
                        content_type="multipart/form-data",
                        data={"file": (io.BytesIO(perfect_predictions(tiny)), "preds.csv")})
    assert check.status_code == 200, check.get_json()
    # The dry run read the solution through the web process's cache; nothing else is on the web host's disk.
    assert all(name.startswith("cache/files-") for name in _files_under(tmp_path / "web"))
    assert not (tmp_path / "web" / "files").exists()
