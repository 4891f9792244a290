"""Start-up problems stop `heldout` with one clear line, never a traceback."""

import os
import subprocess
import sys

import pytest

HELDOUT = [sys.executable, "-m", "heldout.cli"]


def run(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    base.update(HELDOUT_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(HELDOUT + list(args), env=base, capture_output=True, text=True, timeout=60)


def one_line_error(done):
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("heldout:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_an_unreachable_database_is_one_line(tmp_path):
    line = one_line_error(run(tmp_path, "db", "upgrade",
                              HELDOUT_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert "cannot reach the database" in line and "HELDOUT_DATABASE_URL" in line


def test_an_unmigrated_database_says_to_upgrade(tmp_path):
    line = one_line_error(run(tmp_path, "users", "create", "ada", HELDOUT_NEW_PASSWORD="long enough"))
    assert "heldout db upgrade" in line


def test_an_unreachable_redis_is_one_line(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    line = one_line_error(run(tmp_path, "worker", HELDOUT_REDIS_URL="redis://127.0.0.1:1/0"))
    assert "cannot reach Redis" in line and "HELDOUT_REDIS_URL" in line


def test_a_malformed_variable_is_one_line(tmp_path):
    line = one_line_error(run(tmp_path, "db", "upgrade", HELDOUT_SANDBOX="vm"))
    assert "HELDOUT_SANDBOX" in line


def test_a_missing_sandbox_image_is_one_line(tmp_path, real_redis):
    from tests.conftest import REDIS_URL

    assert run(tmp_path, "db", "upgrade").returncode == 0
    line = one_line_error(run(tmp_path, "worker", "--burst", HELDOUT_REDIS_URL=REDIS_URL, HELDOUT_SANDBOX="docker",
                              HELDOUT_SANDBOX_IMAGE="heldout-sandbox:does-not-exist"))
    assert "does-not-exist" in line


def test_users_and_tokens_are_created_from_the_command_line(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    created = run(tmp_path, "users", "create", "ada", "--admin", HELDOUT_NEW_PASSWORD="long enough")
    assert created.returncode == 0 and "created user ada (admin)" in created.stdout
    token = run(tmp_path, "tokens", "create", "ada")
    assert token.returncode == 0 and token.stdout.startswith("hld_")
    duplicate = run(tmp_path, "users", "create", "ada", HELDOUT_NEW_PASSWORD="long enough")
    assert "taken" in one_line_error(duplicate)


@pytest.mark.parametrize("password", ["short"])
def test_a_weak_password_is_refused(tmp_path, password):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert "password" in one_line_error(run(tmp_path, "users", "create", "ada", HELDOUT_NEW_PASSWORD=password))
