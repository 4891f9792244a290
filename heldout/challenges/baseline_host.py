"""Run a predictions challenge's baseline script the way a learner runs it on their machine.

    python -m heldout.challenges.baseline_host --data /data --workdir /output /baseline/baseline.py

A predictions baseline reads the learner's downloads (``train.csv``, ``test.csv``) from its
working folder and writes ``submission.csv`` there. In the sandbox the downloads are mounted
read-only at ``--data`` and the only writable folder whose files come back is ``/output``; so
this links every download into ``--workdir``, makes it the working folder, and replaces itself
with ``python3 SCRIPT``: the exit status, the output and the limits are the script's own, and its
``submission.csv`` comes back to the runner with ``/output``. The links are not copied back
(the sandbox returns regular files only).

Standard library only; this is the organizer's code running, nothing here is trusted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def stage(data: Path, workdir: Path) -> None:
    """Link each file of ``data`` into ``workdir`` under its own name."""
    workdir.mkdir(parents=True, exist_ok=True)
    for source in sorted(data.iterdir()):
        if source.is_file():
            os.symlink(source, workdir / source.name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m heldout.challenges.baseline_host")
    parser.add_argument("--data", type=Path, required=True, help="the learner's downloads (read-only)")
    parser.add_argument("--workdir", type=Path, required=True, help="where the script runs and writes")
    parser.add_argument("script", type=Path)
    args = parser.parse_args(argv)
    stage(args.data, args.workdir)
    os.chdir(args.workdir)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, str(args.script)])


if __name__ == "__main__":
    main()
