"""A code submission as its challenge's rules describe it: the entry point, the limits, and the upload unpacked.

The bundle's ``rules.code`` states a challenge's limits; the defaults here are
the ones a bundle gets when it states none (``bundle_schema`` and
``bundle.CodeRules`` take them from here), and the ones a run gets when a stored
challenge's rules lack a value. The runner turns :class:`CodeLimits` into its
sandbox's limits; the web tier reads them (a check's time limit) without
importing the runner. Standard library only: ``heldout.challenges`` is also
imported inside the sandbox.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ENTRYPOINT = "predict.py"
POLICY_ENTRYPOINT = "policy.py"  # a reinforcement-learning challenge's entry point defines act()
DEFAULT_TIME_LIMIT_S = 600
DEFAULT_MEMORY_MB = 2048
DEFAULT_CPUS = 1.0
DEFAULT_PIDS = 64
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class CodeLimits:
    """What one run of a challenge's code may use (the sandbox's ``Limits`` has the same names)."""

    timeout_s: float
    memory_bytes: int
    cpus: float
    pids: int


def code_limits(rules: dict | None) -> CodeLimits:
    """The limits of a challenge's code runs, from its stored rules (``rules["code"]``), defaults filled in."""
    code = (rules or {}).get("code") or {}
    return CodeLimits(
        timeout_s=float(code.get("time_limit_s") or DEFAULT_TIME_LIMIT_S),
        memory_bytes=int(code.get("memory_mb") or DEFAULT_MEMORY_MB) * 1024 * 1024,
        cpus=float(code.get("cpus") or DEFAULT_CPUS),
        pids=int(code.get("pids") or DEFAULT_PIDS),
    )


def entrypoint_of(rules: dict | None, default: str = DEFAULT_ENTRYPOINT) -> str:
    """The file a run executes: the bundle's ``rules.code.entrypoint``, else ``default``."""
    return ((rules or {}).get("code") or {}).get("entrypoint") or default


def unpack_code(upload: Path, filename: str, target: Path, *, entrypoint: str = DEFAULT_ENTRYPOINT) -> str | None:
    """Put a ``.py`` file or a zip into ``target``; returns a message for the participant if it is unusable."""
    if filename.lower().endswith(".py"):
        shutil.copyfile(upload, target / entrypoint)
        return None
    if not zipfile.is_zipfile(upload):
        return f"A code submission must be a {entrypoint} file or a .zip containing {entrypoint}."
    total = 0
    with zipfile.ZipFile(upload) as archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith("/") or ".." in Path(name).parts:
                return f"The zip contains an unsafe path: {name!r}."
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                return f"The zip contains a symbolic link: {name!r}."
            total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                return "The zip unpacks to more than 512 MB."
        archive.extractall(target)
    if not (target / entrypoint).is_file():
        return f"The zip has no {entrypoint} at its top level."
    return None


__all__ = ["CodeLimits", "code_limits", "entrypoint_of", "unpack_code", "DEFAULT_ENTRYPOINT", "POLICY_ENTRYPOINT"]
