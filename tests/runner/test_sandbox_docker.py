"""The Docker backend against a real daemon and the real sandbox image.

Skipped without a daemon/image, *failed* with HELDOUT_TEST_STRICT=1. After
every test no container labelled ``heldout.sandbox`` may be left.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from heldout.runner.sandbox import Limits, Mount, RunRequest, SandboxUnavailable, get_sandbox, read_json_result
from heldout.runner.sandbox.docker_backend import LABEL, DockerSandbox, cleanup_leftovers
from heldout.runner.sandbox.pool import PrestartedPool

sys.path.insert(0, str(Path(__file__).parent))
from test_sandbox_contract import SMALL, SandboxContract, py  # noqa: E402

pytestmark = pytest.mark.docker


@pytest.fixture
def sb(docker_sandbox, no_docker_leftovers):
    return docker_sandbox


class TestDockerContract(SandboxContract):
    expected_uid = 10001
    fork_bomb_limits = ("pids",)

    def test_peak_memory_and_oom_flag(self, sb):
        res = self.run(sb, py("b = bytearray(10 * 2**30)"))
        assert res.oom_killed and res.exit_code == 137
        assert res.peak_memory_bytes and res.peak_memory_bytes >= 200 << 20

    def test_container_is_hardened(self, sb):
        """The create spec itself: what `docker inspect` would show."""
        spec = sb.container_spec(RunRequest(argv=["true"], mounts=[], limits=SMALL))
        hc = spec["host_config"]
        assert hc["NetworkMode"] == "none" and spec["network_disabled"]
        assert hc["ReadonlyRootfs"] and hc["CapDrop"] == ["ALL"] and hc["SecurityOpt"] == ["no-new-privileges"]
        assert hc["Memory"] == hc["MemorySwap"] == SMALL.memory_bytes and hc["PidsLimit"] == SMALL.pids
        assert hc["NanoCpus"] == 1_000_000_000 and hc["LogConfig"]["Type"] == "none"
        assert {u["Name"] for u in hc["Ulimits"]} == {"fsize", "nofile", "core"}
        assert all("noexec" in opts and "size=" in opts for opts in hc["Tmpfs"].values())
        assert spec["user"] == "10001:10001" and spec["labels"][LABEL] == "1"

    def test_request_labels_are_applied(self, sb):
        seen = {}

        def spy(cid, *a, **kw):
            seen.update(sb.api.inspect_container(cid)["Config"]["Labels"])
            return orig(cid, *a, **kw)

        orig = sb.api.start
        sb.api.start = spy
        try:
            self.run(sb, ["true"], labels={"heldout.submission": "42"})
        finally:
            del sb.api.start
        assert seen[LABEL] == "1" and seen["heldout.submission"] == "42"

    def test_container_removed_after_timeout(self, sb):
        res = self.run(sb, ["sleep", "infinity"], labels={"heldout.test": "timeout"})
        assert res.timed_out
        assert sb.api.containers(all=True, filters={"label": "heldout.test=timeout"}) == []

    def test_missing_image_is_unavailable(self, docker_sandbox):
        sb = DockerSandbox(image="heldout-sandbox:does-not-exist", client=docker_sandbox.client)
        with pytest.raises(SandboxUnavailable, match="image build"):
            sb.check()
        with pytest.raises(SandboxUnavailable, match="image build"):
            sb.run(RunRequest(argv=["true"], mounts=[], limits=SMALL))

    def test_daemon_gone_is_unavailable(self, monkeypatch):
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        sb = DockerSandbox(image="heldout-sandbox:latest")
        with pytest.raises(SandboxUnavailable, match="dockerd"):
            sb.check()
        with pytest.raises(SandboxUnavailable):
            get_sandbox("docker")

    def test_get_sandbox_auto_prefers_docker(self, docker_sandbox):
        assert get_sandbox("auto", image=docker_sandbox.image).name == "docker"

    def test_cleanup_leftovers(self, sb):
        stopped = sb.api.create_container(sb.image, command=["true"], labels={LABEL: "1"})["Id"]
        running = sb.api.create_container(sb.image, command=["sleep", "60"], labels={LABEL: "1"})["Id"]
        sb.api.start(running)
        try:
            assert cleanup_leftovers(0) == 1  # the stopped one; a young running one may be a live run
            assert cleanup_leftovers(0, running_max_age_s=0) == 1
        finally:
            for cid in (stopped, running):
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


class TestPrestartedPool:
    def test_pooled_runs_are_single_use_and_fast(self, docker_sandbox, no_docker_leftovers, tmp_path):
        (tmp_path / "spec.json").write_text('{"a": 1}')
        with PrestartedPool(docker_sandbox, size=1, limits=SMALL) as pool:
            assert pool.wait_ready(30)
            durations, hosts = [], set()
            for i in range(3):
                out = tmp_path / f"out{i}"
                out.mkdir()
                pool.wait_ready(30)
                t0 = time.monotonic()
                res = pool.run(RunRequest(
                    argv=py("import json, os, socket; json.dump({'h': socket.gethostname(), 'n': len(os.listdir('/tmp'))},"
                            " open('/output/r.json', 'w')); open('/tmp/mark', 'w').write('x'); print(open('/input/spec.json').read())"),
                    mounts=[Mount(tmp_path / "spec.json", "/input/spec.json")], limits=SMALL, output_dir=out))
                durations.append(time.monotonic() - t0)
                assert res.exit_code == 0 and res.stdout == '{"a": 1}\n', res.stderr
                got = read_json_result(out / "r.json")
                assert got["n"] == 0  # a fresh /tmp every time: nothing left by the previous run
            assert pool.stats["pooled"] == 3
            assert min(durations) < 0.25
            # Different memory/pids limits are applied with docker update; file mounts elsewhere go cold.
            res = pool.run(RunRequest(argv=["cat", "/sys/fs/cgroup/pids/pids.max"], mounts=[],
                                      limits=Limits(**{**SMALL.__dict__, "pids": 32})))
            assert res.stdout.strip() in ("32", "")  # "" on cgroup v2 layouts
            res = pool.run(RunRequest(argv=["true"], mounts=[Mount(tmp_path, "/elsewhere")], limits=SMALL))
            assert res.exit_code == 0 and pool.stats["cold"] >= 1
            res = pool.run(RunRequest(argv=["sleep", "infinity"], mounts=[], limits=SMALL))
            assert res.timed_out
        assert docker_sandbox.api.containers(all=True, filters={"label": "heldout.sandbox.pool=1"}) == []
