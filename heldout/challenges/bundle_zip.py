"""Unpacking a challenge uploaded as a ``.zip``, safely.

A zip is organizer input, and an archive can lie: entries may point outside
the target (``../``, absolute paths), be symlinks, or declare small sizes and
inflate to gigabytes. Every entry name is checked before anything is written,
the declared sizes are summed against the limit, and the bytes actually
written are counted while extracting, so a lying header cannot get past the
limit either.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from .errors import BundleError

DEFAULT_MAX_UNPACKED_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 10_000
_CHUNK = 1024 * 1024
# Folders that archiving tools add and that are never part of a challenge.
_IGNORED_PREFIXES = ("__MACOSX/",)


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name:
        return "uses backslashes; zip paths must use '/'"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if any(part == ".." for part in PurePosixPath(name).parts):
        return "contains '..' and would land outside the bundle"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; bundles may hold only regular files"
    return None


def extract_zip(archive: Path, dest: Path, *, max_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
                max_entries: int = DEFAULT_MAX_ENTRIES) -> list[BundleError]:
    """Extract ``archive`` into the empty directory ``dest``; the problems found (none = done).

    Nothing is written when a name, the entry count or the declared sizes are
    wrong; extraction stops as soon as the real bytes pass ``max_bytes``.
    """
    label = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        return [BundleError(f"not a readable zip archive: {exc}", label)]
    with zf:
        infos = [i for i in zf.infolist() if not i.filename.startswith(_IGNORED_PREFIXES)]
        errors = [BundleError(f"entry {i.filename!r} {problem}", label)
                  for i in infos if (problem := _entry_problem(i))]
        if len(infos) > max_entries:
            errors.append(BundleError(f"has {len(infos)} entries; at most {max_entries} are allowed", label))
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            errors.append(BundleError(
                f"unpacks to {declared} bytes; at most {max_bytes} are allowed", label))
        if errors:
            return errors
        written = 0
        root = dest.resolve()
        for info in infos:
            target = (root / info.filename).resolve()
            if root != target and root not in target.parents:  # belt and braces after the name checks
                return [BundleError(f"entry {info.filename!r} would land outside the bundle", label)]
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            return [BundleError(
                                f"unpacks to more than {max_bytes} bytes although its entries declare "
                                f"{declared}; refusing it (zip bomb?)", label)]
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                # RuntimeError: encrypted entries; zlib errors surface as BadZipFile/OSError.
                return [BundleError(f"entry {info.filename!r} cannot be read: {exc}", label)]
    return []


def bundle_root(extracted: Path, yaml_name: str) -> Path:
    """The folder holding ``challenge.yaml``: the top level, or the one folder a zip tool wrapped it in."""
    if (extracted / yaml_name).exists():
        return extracted
    children = [c for c in extracted.iterdir() if not c.name.startswith(".")]
    if len(children) == 1 and children[0].is_dir() and (children[0] / yaml_name).exists():
        return children[0]
    return extracted
