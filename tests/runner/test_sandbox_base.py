"""The sandbox interface's pure parts: no Docker, no bwrap needed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from heldout.runner.sandbox import Limits, Mount, RunRequest, get_sandbox, read_json_result
from heldout.runner.sandbox import _protocol as proto
from heldout.runner.sandbox import image as img


def test_import_does_not_touch_docker_or_the_platform():
    code = ("import sys, heldout.runner.sandbox, heldout.runner.sandbox.docker_backend, "
            "heldout.runner.sandbox.bubblewrap_backend, heldout.runner.sandbox.image, heldout.runner.sandbox.pool; "
            "bad = [m for m in sys.modules if m == 'docker' or m.startswith(('flask', 'heldout.platform'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_read_json_result(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"ok": true}')
    assert read_json_result(good) == {"ok": True}
    assert read_json_result(tmp_path / "missing.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json_result(tmp_path / "list.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert read_json_result(tmp_path / "bad.json") is None
    (tmp_path / "yaml.json").write_text("ok: true\n")
    assert read_json_result(tmp_path / "yaml.json") is None
    (tmp_path / "big.json").write_text(json.dumps({"x": "y" * 2000}))
    assert read_json_result(tmp_path / "big.json", max_bytes=1000) is None
    (tmp_path / "link.json").symlink_to(good)
    assert read_json_result(tmp_path / "link.json") is None
    os.mkfifo(tmp_path / "fifo.json")
    assert read_json_result(tmp_path / "fifo.json") is None  # and does not block
    (tmp_path / "deep.json").write_text("[" * 100000)
    assert read_json_result(tmp_path / "deep.json") is None


@pytest.mark.parametrize("mount", [
    Mount(Path("/etc"), "relative"), Mount(Path("/etc"), "/output"), Mount(Path("/etc"), "/tmp/x"),
    Mount(Path("/etc"), "/proc/x"), Mount(Path("/etc"), "/a/../b"), Mount(Path("/nonexistent-xyz"), "/data"),
    Mount(Path("relative"), "/data"),
])
def test_bad_mounts_are_rejected(mount):
    with pytest.raises(ValueError):
        proto.validate_request(RunRequest(argv=["true"], mounts=[mount], limits=Limits()))


def test_bad_requests_are_rejected():
    for req in (RunRequest(argv=[], mounts=[], limits=Limits()),
                RunRequest(argv=["true"], mounts=[], limits=Limits(memory_bytes=1)),
                RunRequest(argv=["true"], mounts=[], limits=Limits(), env={"BAD=NAME": "x"}),
                RunRequest(argv=["true"], mounts=[], limits=Limits(), workdir="rel")):
        with pytest.raises(ValueError):
            proto.validate_request(req)


def _header(**kw) -> bytes:
    cap = {"head": "", "tail": "", "total": 0}
    h = {"v": 1, "exit": 0, "signal": None, "timed_out": False, "duration": 0.1, "stdout": cap, "stderr": cap,
         "output": True, **kw}
    return (json.dumps(h) + "\n").encode()


def _frame(path: str, data: bytes) -> bytes:
    return (json.dumps({"path": path, "size": len(data)}) + "\n").encode() + data


def test_stream_parser_writes_only_safe_paths(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "victim").write_text("keep")
    (out / "escape").symlink_to(tmp_path)
    p = proto.StreamParser(Limits(output_bytes=1 << 20), out)
    stream = (_header() + _frame("ok.json", b'{"a": 1}') + _frame("../victim", b"pwned")
              + _frame("/abs", b"x") + _frame("escape/victim", b"pwned") + _frame("sub/dir/f.csv", b"1,2")
              + b'{"end": true}\n')
    for i in range(0, len(stream), 7):  # arbitrary chunking
        p.feed(stream[i:i + 7])
    assert p.done and p.output_truncated
    assert (out / "ok.json").read_text() == '{"a": 1}' and (out / "sub" / "dir" / "f.csv").read_text() == "1,2"
    assert (tmp_path / "victim").read_text() == "keep"
    assert not Path("/abs").exists()


def test_stream_parser_caps_output_bytes(tmp_path):
    p = proto.StreamParser(Limits(output_bytes=1 << 20), tmp_path)
    p.feed(_header() + _frame("a", b"x" * (900 << 10)) + _frame("b", b"y" * (900 << 10)) + b'{"end": true}\n')
    assert (tmp_path / "a").stat().st_size == 900 << 10 and not (tmp_path / "b").exists() and p.output_truncated


def test_stream_parser_rejects_huge_header():
    p = proto.StreamParser(Limits(output_cap_bytes=1024), None)
    with pytest.raises(proto.ProtocolError):
        p.feed(b"x" * (1 << 20))


def test_result_keeps_head_and_tail():
    cap = {"head": base64.b64encode(b"first").decode(), "tail": base64.b64encode(b"last").decode(), "total": 100}
    res = proto.result_from_header({"exit": 0, "stdout": cap, "stderr": None, "duration": 1}, Limits(), backend="x")
    assert res.stdout.startswith("first") and res.stdout.endswith("last") and "91 bytes omitted" in res.stdout
    assert res.stdout_truncated


@pytest.mark.parametrize("header,limit", [
    ({"exit": None, "timed_out": True}, "time"),
    ({"exit": 137, "signal": 9, "oom_kills": 1}, "memory"),
    ({"exit": None, "timed_out": True, "pids_max_events": 5}, "pids"),
    ({"exit": 153, "signal": 25}, "file_size"),
    ({"exit": 1, "full": ["/tmp"]}, "disk"),
    ({"exit": 137, "output_killed": True}, "output"),
    ({"exit": 0, "full": ["/tmp"]}, None),
])
def test_limit_classification(header, limit):
    res = proto.result_from_header({"duration": 1, **header}, Limits(), backend="x")
    assert res.limit_hit == limit
    assert (res.message is None) == (limit is None)


def test_get_sandbox_rejects_unknown_kind():
    with pytest.raises(ValueError):
        get_sandbox("vm")


def test_image_tag_follows_scoring_code(tmp_path, monkeypatch):
    tag = img.expected_image_tag()
    assert tag.startswith("heldout-sandbox:") and len(tag.split(":")[1]) == 12
    extra = tmp_path / "extra.py"
    extra.write_text("x = 1\n")
    files = img.image_code_files()
    assert ("heldout/__init__.py", img.package_dir() / "__init__.py") in files
    assert all(name.startswith("heldout/challenges/") for name, _ in files[1:])
    monkeypatch.setattr(img, "image_code_files", lambda: files + [("heldout/challenges/extra.py", extra)])
    changed = img.expected_image_tag()
    assert changed != tag
    extra.write_text("x = 2\n")
    assert img.expected_image_tag() not in (tag, changed)
    monkeypatch.setenv("HELDOUT_SANDBOX_IMAGE", "custom:1")
    assert img.expected_image_tag() == "custom:1"


def test_base_tag_depends_only_on_the_recipe():
    assert img.base_image_tag().startswith("heldout-sandbox-base:")
    names = {name for name, _ in img._recipe_files()}
    assert {"docker/sandbox/build-base.sh", "docker/sandbox/Dockerfile.offline", "docker/sandbox/Dockerfile"} <= names
