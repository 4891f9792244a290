"""What ``make run`` needs on this machine before the demo can score anything, installed or asked for.

    python -m heldout.runner.sandbox.prepare      # make run runs it before `heldout demo`

Submissions are scored in the Docker sandbox when a Docker engine answers, else
under bubblewrap (``get_sandbox("auto")``). On a fresh Debian machine with only
Python, one package may be missing for that:

* no Docker engine answers and ``bwrap`` is not installed: **bubblewrap**;
* Docker answers but the sandbox image is missing and its offline base must be
  built (neither the base image nor ``python:3.11-slim`` is here), which takes
  **debootstrap**, run as root.

Run as root, it installs what is missing from Debian with one line saying what
and why, then builds the sandbox image when Docker answers (cached by content
hash: seconds when nothing changed). Run as another user, it prints the one
command that does the part needing root, and stops with exit status 1.

:func:`plan` decides from a :class:`Machine` (what the probes found) alone, so
the decision is tested with made-up machines; :func:`main` probes and acts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from heldout.config import sandbox_build_env

from .base import SandboxUnavailable

PREFIX = "make run: "
NO_DOCKER = "no Docker engine answers, so submissions are scored under bubblewrap"
BASE_BUILD = "the Docker sandbox image is built from a Debian base made with debootstrap, as root"


@dataclass(frozen=True)
class Machine:
    """What the probes found on this machine."""

    root: bool
    apt: bool  # apt-get is there (Debian and its derivatives)
    docker: bool  # a Docker engine answers
    image: bool = False  # the sandbox image of this source tree exists
    base: bool = False  # the image can be built without debootstrap: its base, or python:3.11-slim, is here
    debootstrap: bool = False
    bwrap: bool = False


@dataclass(frozen=True)
class Plan:
    """What to do: install ``packages`` (for ``why``), then build the sandbox image or not.

    ``root_build``: building the image needs root (debootstrap), whether or not
    a package is missing. ``note``: one line to print when nothing is missing.
    """

    packages: tuple[str, ...] = ()
    why: str = ""
    build_image: bool = False
    root_build: bool = False
    note: str = ""

    @property
    def needs_root(self) -> bool:
        return bool(self.packages) or self.root_build


def plan(machine: Machine) -> Plan:
    if machine.docker:
        if machine.image or machine.base:
            return Plan(build_image=True)
        return Plan(("debootstrap",) if not machine.debootstrap else (), why=BASE_BUILD, build_image=True,
                    root_build=True)
    if machine.bwrap:
        return Plan(note=NO_DOCKER)
    return Plan(("bubblewrap",), why=NO_DOCKER)


def root_command(machine: Machine, chosen: Plan, python: str) -> str:
    """The one command another user runs to do the part that needs root."""
    if chosen.root_build:
        return f"sudo {python} -m heldout.runner.sandbox.prepare"
    if machine.apt:
        return "sudo apt-get install -y " + " ".join(chosen.packages)
    return f"install {' and '.join(chosen.packages)} with your system's package manager (as root)"


def carry_out(machine: Machine, chosen: Plan, *, say: Callable[[str], None], install: Callable[[Sequence[str]], None],
              build: Callable[[], None], python: str = "python3") -> int:
    """Do what ``chosen`` says on ``machine``; returns the exit status."""
    if chosen.needs_root and not (machine.root and (machine.apt or not chosen.packages)):
        missing = f"{', '.join(chosen.packages)} missing; " if chosen.packages else ""
        say(f"{PREFIX}{chosen.why}: {missing}run `{root_command(machine, chosen, python)}`, then `make run` again")
        return 1
    if chosen.packages:
        say(f"{PREFIX}installing {', '.join(chosen.packages)} from Debian ({chosen.why})")
        try:
            install(chosen.packages)
        except RuntimeError as exc:
            say(f"{PREFIX}installing {', '.join(chosen.packages)} failed: {exc}")
            return 1
    if chosen.note:
        say(PREFIX + chosen.note)
    if chosen.build_image:
        build()
    return 0


# -- the real machine ---------------------------------------------------------------------------------------------

def probe() -> Machine:
    from . import image

    root, apt = os.geteuid() == 0, shutil.which("apt-get") is not None
    found = {"debootstrap": shutil.which("debootstrap") is not None, "bwrap": shutil.which("bwrap") is not None}
    try:
        client = image._client()
    except SandboxUnavailable:
        return Machine(root=root, apt=apt, docker=False, **found)
    online = sandbox_build_env().online or image.image_exists(image.ONLINE_BASE, client)
    return Machine(root=root, apt=apt, docker=True, image=image.image_exists(image.expected_image_tag(), client),
                   base=online or image.image_exists(image.base_image_tag(), client), **found)


def apt_install(packages: Sequence[str]) -> None:
    """``apt-get install`` from Debian, quietly; raises RuntimeError with apt's last lines if it fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"`{' '.join(argv)}` exited with {done.returncode}: {' / '.join(last)}")


def build_sandbox_image() -> None:
    from . import image

    tag = image.build_image()
    print(f"{PREFIX}sandbox image {tag} ready", flush=True)


def _python() -> str:
    """This interpreter as the user would type it: ``.venv/bin/python`` from the checkout."""
    path = Path(sys.executable)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main() -> int:
    machine = probe()
    try:
        return carry_out(machine, plan(machine), say=lambda line: print(line, flush=True), install=apt_install,
                         build=build_sandbox_image, python=_python())
    except (SandboxUnavailable, RuntimeError) as exc:  # the image build: no daemon any more, a failed build
        print(f"{PREFIX}{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
