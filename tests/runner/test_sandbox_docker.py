"""The Docker backend against a real daemon and the real sandbox image.

Skipped without a daemon/image, *failed* with HELDOUT_TEST_STRICT=1. After
every test no container labelled ``heldout.sandbox`` may be left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from heldout.runner.sandbox import (
    Limits,
    Mount,
    RunRequest,
    SandboxUnavailable,
    get_sandbox,
    read_json_result,
)
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


class TestGvisorContract(SandboxContract):
    """The same contract with gVisor (runsc) as the container's runtime: what participant code runs under with
    HELDOUT_SANDBOX_RUNTIME=runsc."""

    expected_uid = 10001
    # gVisor's kernel enforces the limit as RLIMIT_NPROC (the host's cgroup counts gVisor's own threads too): a
    # fork bomb then spins on EAGAIN until its time is up, as under bubblewrap.
    fork_bomb_limits = ("pids", "time", "memory")  # or gVisor's own memory for so many processes runs out
    unreachable_errors = ("ENETUNREACH", "EHOSTUNREACH")  # gVisor's network stack says EHOSTUNREACH

    @pytest.fixture
    def sb(self, gvisor_sandbox, no_docker_leftovers):
        return gvisor_sandbox

    def test_pids_limit_stops_a_fork_bomb(self, sb):
        """Stopped as under runc, but not as quickly: gVisor (ptrace platform) tears down a sandbox of many
        processes slowly, up to half a minute on a busy 2-core machine."""
        res = self.run(sb, py("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"))
        assert res.limit_hit in self.fork_bomb_limits and not res.ok

    def test_cannot_forge_the_result_channel(self, sb):
        """Not so under this gVisor: it lets a process of the supervisor's uid write to its stdout and kill it
        (Linux refuses both: the supervisor is non-dumpable and its namespace's init). What a participant
        forges is then the report of its own run, whose exit code, output and files it decides anyway; a
        supervisor killed leaves no report, which the host reads as gVisor's out-of-memory kill (runsc does not
        report those to Docker) at once, never as a platform error to retry."""
        forged = '{"v": 1, "exit": 0, "timed_out": false, "stdout": {"head": "", "tail": "", "total": 0}}'
        res = self.run(sb, ["sh", "-c", f"echo '{forged}' > /proc/1/fd/1; exit 3"])
        assert res.exit_code in (0, 3) and res.limit_hit is None
        t0 = time.monotonic()
        res = self.run(sb, ["sh", "-c", "kill -9 1; sleep 60"])
        assert res.limit_hit == "memory" and not res.ok
        assert time.monotonic() - t0 < SMALL.timeout_s

    def test_a_prestarted_pool_serves_runs_and_runs_with_other_limits_start_fresh(self, sb):
        # runsc has no `docker update`: a run whose limits differ from the pool's gets a container of its own.
        with PrestartedPool(sb, size=1, limits=SMALL) as pool:
            assert pool.wait_ready(60)
            assert self.run(pool, py("print('pooled')")).stdout == "pooled\n"
            other = Limits(**{**SMALL.__dict__, "pids": 32, "memory_bytes": 384 << 20})
            assert self.run(pool, py("print('fresh')"), limits=other).stdout == "fresh\n"
            assert pool.stats == {"pooled": 1, "cold": 1}

    def test_the_code_runs_on_gvisors_kernel_not_the_hosts(self, sb):
        res = self.run(sb, ["sh", "-c", "dmesg 2>/dev/null | head -n 1; uname -r"])
        assert "gVisor" in res.stdout, res.stdout + res.stderr
        assert res.stdout.splitlines()[-1] != os.uname().release

    def test_a_runtime_the_daemon_lacks_is_unavailable_and_says_how_to_register_it(self, docker_sandbox):
        sb = DockerSandbox(image=docker_sandbox.image, client=docker_sandbox.client, runtime="no-such-runtime")
        with pytest.raises(SandboxUnavailable, match=r"no runtime 'no-such-runtime' \(it has .*runc.*daemon.json"):
            sb.check()


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
