"""Bundles uploaded as zip archives: unpacked safely or refused."""

from __future__ import annotations

import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from heldout.challenges.bundle import load_bundle, validate_bundle
from heldout.challenges.bundle_zip import extract_zip
from heldout.challenges.errors import BundleErrors

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "tiny-binary"


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def tiny_zip(tmp_path: Path, *extra: tuple[zipfile.ZipInfo | str, bytes]) -> Path:
    target = zip_folder(TINY, tmp_path / "bundle.zip")
    with zipfile.ZipFile(target, "a") as zf:
        for info, data in extra:
            zf.writestr(info, data)
    return target


def test_a_zip_loads_like_its_folder_with_the_same_hashes(tmp_path):
    with load_bundle(TINY) as from_folder, load_bundle(tiny_zip(tmp_path)) as from_zip:
        assert from_zip.content_hash == from_folder.content_hash
        assert from_zip.solution_hash == from_folder.solution_hash
        assert from_zip.slug == "tiny-binary"
        temp = from_zip._tempdir
        assert from_zip.root.is_relative_to(temp)
    assert not temp.exists()


def test_a_zip_with_one_wrapping_folder_is_accepted(tmp_path):
    archive = zip_folder(TINY, tmp_path / "wrapped.zip", prefix="tiny-binary/")
    with load_bundle(archive) as bundle, load_bundle(TINY) as folder:
        assert bundle.content_hash == folder.content_hash


@pytest.mark.parametrize("name, words", [
    ("/etc/cron.d/evil", "absolute"),
    ("../../evil.csv", ".."),
    ("data/../../evil.csv", ".."),
    ("C:/evil.csv", "absolute"),
    ("dir\\evil.csv", "backslash"),
])
def test_entries_outside_the_bundle_are_refused_before_anything_is_written(tmp_path, name, words):
    archive = tiny_zip(tmp_path, (zipfile.ZipInfo(name), b"x"))
    out = tmp_path / "out"
    out.mkdir()
    errors = extract_zip(archive, out)
    assert len(errors) == 1 and words in errors[0].message and errors[0].file == "bundle.zip"
    assert list(out.iterdir()) == []
    assert not (tmp_path / "evil.csv").exists()


def test_symlink_entries_are_refused(tmp_path):
    link = zipfile.ZipInfo("train_link.csv")
    link.create_system = 3  # unix
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    errors = validate_bundle(tiny_zip(tmp_path, (link, b"/etc/passwd")))
    assert len(errors) == 1 and "symbolic link" in errors[0].message


def test_too_large_declared_size_is_refused(tmp_path):
    archive = tiny_zip(tmp_path, ("big.bin", b"\0" * 200_000))
    with pytest.raises(BundleErrors) as caught:
        load_bundle(archive, max_unpacked_bytes=100_000)
    assert "at most 100000" in str(caught.value)


def _lie_about_size(archive: Path, name: str, fake_size: int) -> None:
    """Rewrite the uncompressed size of ``name`` in both its local and central headers."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(name)
    encoded = name.encode()
    # Local header: signature PK\3\4, uncompressed size at offset 22.
    local = info.header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, fake_size)
    # Central directory entry: signature PK\1\2, uncompressed size at offset 24, name at 46.
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        if data[start + 46:start + 46 + len(encoded)] == encoded:
            struct.pack_into("<I", data, start + 24, fake_size)
            break
        start += 4
    archive.write_bytes(bytes(data))


def test_a_zip_bomb_with_lying_sizes_is_refused_without_unpacking_it(tmp_path):
    archive = tiny_zip(tmp_path, ("bomb.bin", b"\0" * 5_000_000))
    _lie_about_size(archive, "bomb.bin", 100)
    with zipfile.ZipFile(archive) as zf:
        assert sum(i.file_size for i in zf.infolist()) < 1_000_000  # the headers claim it is small
    out = tmp_path / "out"
    out.mkdir()
    errors = extract_zip(archive, out, max_bytes=1_000_000)
    assert errors and "bomb.bin" in errors[0].message
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert written <= 1_000_000


def test_the_real_byte_count_is_enforced_too(tmp_path, monkeypatch):
    # Force the running count past the limit even though the headers are honest and small.
    archive = tiny_zip(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    real_open = zipfile.ZipFile.open

    def inflating_open(self, member, *args, **kwargs):
        stream = real_open(self, member, *args, **kwargs)
        original_read = stream.read
        stream.read = lambda n=-1: (original_read(n) or b"") and b"\0" * 4096
        return stream

    monkeypatch.setattr(zipfile.ZipFile, "open", inflating_open)
    declared = sum(i.file_size for i in zipfile.ZipFile(archive).infolist())
    errors = extract_zip(archive, out, max_bytes=declared + 1)
    assert errors and "zip bomb" in errors[0].message


def test_too_many_entries_are_refused(tmp_path):
    archive = tiny_zip(tmp_path, *[(f"junk/{k}.txt", b"") for k in range(30)])
    out = tmp_path / "out"
    out.mkdir()
    errors = extract_zip(archive, out, max_entries=20)
    assert any("entries" in e.message for e in errors)


def test_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "bundle.zip"
    fake.write_bytes(b"this is not a zip")
    errors = validate_bundle(fake)
    assert len(errors) == 1 and "not a readable zip" in errors[0].message


def test_a_zip_without_challenge_yaml_is_refused_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import tempfile

    made = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    folder = tmp_path / "nothing"
    shutil.copytree(TINY, folder)
    (folder / "challenge.yaml").unlink()
    errors = validate_bundle(zip_folder(folder, tmp_path / "nothing.zip"))
    assert any("challenge.yaml" in str(e) for e in errors)
    assert made and not any(Path(m).exists() for m in made)
