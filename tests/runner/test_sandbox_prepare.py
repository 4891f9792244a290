"""`make run` on a fresh machine: what it installs, or asks for, before the demo can score anything.

The decision is tested on made-up machines (nothing is installed or uninstalled here); the
Makefile's wiring runs `make run` with a stand-in virtual environment whose programs only
record how they were called.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from heldout.runner.sandbox import SandboxUnavailable, bubblewrap_backend, get_sandbox
from heldout.runner.sandbox.prepare import Machine, Plan, carry_out, plan

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_ROOT = {"root": True, "apt": True}
DEBIAN_USER = {"root": False, "apt": True}


def run(machine: Machine) -> tuple[int, list[str], list[tuple[str, ...]], int]:
    """(exit status, lines said, packages installed, image builds) of carrying out the plan for ``machine``."""
    said, installed, builds = [], [], []
    status = carry_out(machine, plan(machine), say=said.append, install=lambda p: installed.append(tuple(p)),
                       build=lambda: builds.append(1), python=".venv/bin/python")
    return status, said, installed, len(builds)


# -- no Docker engine: bubblewrap ----------------------------------------------------------------------------------

def test_as_root_without_docker_it_installs_bubblewrap_saying_so_in_one_line():
    status, said, installed, builds = run(Machine(**DEBIAN_ROOT, docker=False, bwrap=False))
    assert (status, installed, builds) == (0, [("bubblewrap",)], 0)
    assert said == ["make run: installing bubblewrap from Debian "
                    "(no Docker engine answers, so submissions are scored under bubblewrap)"]


def test_as_another_user_without_docker_it_prints_the_one_command_and_stops():
    status, said, installed, builds = run(Machine(**DEBIAN_USER, docker=False, bwrap=False))
    assert (status, installed, builds) == (1, [], 0)
    assert said == ["make run: no Docker engine answers, so submissions are scored under bubblewrap: bubblewrap "
                    "missing; run `sudo apt-get install -y bubblewrap`, then `make run` again"]


def test_with_bubblewrap_there_it_installs_nothing_and_says_which_sandbox_scores():
    for who in (DEBIAN_ROOT, DEBIAN_USER):
        status, said, installed, builds = run(Machine(**who, docker=False, bwrap=True))
        assert (status, installed, builds) == (0, [], 0)
        assert said == ["make run: no Docker engine answers, so submissions are scored under bubblewrap"]


def test_off_debian_it_names_the_package_for_the_systems_own_manager():
    status, said, installed, _ = run(Machine(root=True, apt=False, docker=False, bwrap=False))
    assert status == 1 and installed == []
    assert "install bubblewrap with your system's package manager (as root)" in said[0]


# -- Docker answers: the image, and debootstrap for its base ---------------------------------------------------------

def test_as_root_with_docker_and_no_base_image_it_installs_debootstrap_then_builds():
    status, said, installed, builds = run(Machine(**DEBIAN_ROOT, docker=True, image=False, base=False,
                                                  debootstrap=False, bwrap=False))
    assert (status, installed, builds) == (0, [("debootstrap",)], 1)
    assert said == ["make run: installing debootstrap from Debian (the Docker sandbox image is built from a "
                    "Debian base made with debootstrap, as root)"]


def test_as_another_user_with_docker_and_no_base_image_it_prints_the_root_build_command():
    for debootstrap in (False, True):
        status, said, installed, builds = run(Machine(**DEBIAN_USER, docker=True, image=False, base=False,
                                                      debootstrap=debootstrap))
        assert (status, installed, builds) == (1, [], 0)
        assert len(said) == 1 and said[0].endswith(
            "run `sudo .venv/bin/python -m heldout.runner.sandbox.prepare`, then `make run` again")
        assert ("debootstrap missing" in said[0]) is not debootstrap


@pytest.mark.parametrize("ready", [{"image": True}, {"base": True}])
def test_with_docker_and_an_image_or_its_base_any_user_just_builds(ready):
    for who in (DEBIAN_ROOT, DEBIAN_USER):
        status, said, installed, builds = run(Machine(**who, docker=True, bwrap=False, **ready))
        assert (status, said, installed, builds) == (0, [], [], 1)


def test_docker_never_asks_for_bubblewrap_nor_the_lack_of_docker_for_debootstrap():
    assert plan(Machine(**DEBIAN_ROOT, docker=True, image=True, bwrap=False)).packages == ()
    assert plan(Machine(**DEBIAN_ROOT, docker=False, debootstrap=False, bwrap=False)).packages == ("bubblewrap",)


def test_a_failed_install_is_one_line_and_stops():
    def broken(packages):  # noqa: ANN001, ANN202
        raise RuntimeError("`apt-get update -qq` exited with 100: Temporary failure resolving 'deb.debian.org'")

    said: list[str] = []
    machine = Machine(**DEBIAN_ROOT, docker=False, bwrap=False)
    status = carry_out(machine, plan(machine), say=said.append, install=broken, build=lambda: None)
    assert status == 1 and said[-1].startswith("make run: installing bubblewrap failed: `apt-get update -qq`")
    assert plan(machine) == Plan(("bubblewrap",), why=plan(machine).why)


# -- the error that lists every missing backend ---------------------------------------------------------------------

def test_with_no_backend_at_all_each_remedy_is_said_once(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setattr(bubblewrap_backend, "_bwrap_path", lambda: None)
    with pytest.raises(SandboxUnavailable) as caught:
        get_sandbox("auto")
    text = str(caught.value)
    assert text.startswith("no sandbox available: docker: Docker daemon not reachable")
    for remedy in ("Docker daemon not reachable", "systemctl start docker", "DOCKER_HOST",
                   "apt-get install -y bubblewrap"):
        assert text.count(remedy) == 1, (remedy, text)


# -- the Makefile ---------------------------------------------------------------------------------------------------

def _fake_venv(tmp_path: Path, prepare_status: int) -> tuple[Path, Path]:
    """A virtual environment whose python and heldout only append their arguments to calls.log."""
    venv, calls = tmp_path / "venv", tmp_path / "calls.log"
    (venv / "bin").mkdir(parents=True)
    for name, status in (("python", prepare_status), ("heldout", 0)):
        program = venv / "bin" / name
        program.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit {status}\n')
        program.chmod(0o755)
    stamp = venv / ".installed"
    stamp.touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 60
    os.utime(stamp, (later, later))  # installed after pyproject.toml changed: make installs nothing
    return venv, calls


@pytest.mark.parametrize(("prepare_status", "expected"), [
    (0, ["python -m heldout.runner.sandbox.prepare", "heldout demo"]),
    (1, ["python -m heldout.runner.sandbox.prepare"]),
])
def test_make_run_prepares_the_sandbox_first_and_stops_when_that_stops(tmp_path, prepare_status, expected):
    venv, calls = _fake_venv(tmp_path, prepare_status)
    done = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "run", f"VENV={venv}"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) is (prepare_status == 0), done.stdout + done.stderr
    assert calls.read_text().splitlines() == expected
