"""What every sandbox backend must guarantee, run against the real backends.

``SandboxContract`` is not collected here (no ``Test`` prefix): the Docker and
bubblewrap test modules subclass it with a ``sb`` fixture. Limits are small
(256 MiB, 2 s) so the whole contract runs in well under a minute per backend.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from heldout.runner.sandbox import Limits, Mount, RunRequest, read_json_result

SMALL = Limits(timeout_s=2, memory_bytes=256 << 20, cpus=1.0, pids=64, tmpfs_bytes=16 << 20,
               output_bytes=16 << 20, file_size_bytes=8 << 20, output_cap_bytes=8 << 10)
REPO = Path(__file__).resolve().parents[2]


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


class SandboxContract:
    """Subclasses provide a ``sb`` fixture (and any autouse leftovers check)."""

    expected_uid: int = 0
    # How a connect to the internet fails at once, without a network: Linux says ENETUNREACH.
    unreachable_errors: tuple[str, ...] = ("ENETUNREACH",)

    def run(self, sb, argv, limits=SMALL, **kw):
        return sb.run(RunRequest(argv=argv, mounts=kw.pop("mounts", []), limits=limits, **kw))

    # -- basics ---------------------------------------------------------------
    def test_trivial_run(self, sb):
        res = self.run(sb, py("print('hello')"))
        assert (res.exit_code, res.stdout, res.limit_hit, res.timed_out) == (0, "hello\n", None, False)
        assert res.backend == sb.name and 0 < res.duration_s < 2

    def test_exit_code_and_stderr_propagate(self, sb):
        res = self.run(sb, py("import sys; print('oops', file=sys.stderr); sys.exit(7)"))
        assert res.exit_code == 7 and res.stderr == "oops\n" and res.limit_hit is None

    def test_killed_by_signal_is_128_plus_signal(self, sb):
        res = self.run(sb, py("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"))
        assert res.exit_code == 128 + 15

    def test_missing_command_is_127(self, sb):
        res = self.run(sb, ["no-such-command-xyz"])
        assert res.exit_code == 127 and "no-such-command-xyz" in res.stderr

    def test_scoring_package_importable(self, sb):
        res = self.run(sb, py("import heldout, heldout.challenges, numpy, pandas, sklearn; print(heldout.__file__)"),
                       limits=Limits(timeout_s=30, memory_bytes=512 << 20))
        assert res.exit_code == 0, res.stderr
        assert res.stdout.startswith("/opt/heldout/heldout/")

    def test_only_the_scoring_code_of_heldout_is_visible(self, sb):
        res = self.run(sb, py("import os; print(sorted(os.listdir('/opt/heldout/heldout')))"))
        assert res.exit_code == 0, res.stderr
        listed = eval(res.stdout)  # noqa: S307 - our own sandbox printed a list literal
        assert "challenges" in listed and "platform" not in listed and "runner" not in listed

    def test_workdir_env_and_mounts(self, sb, tmp_path):
        tmp_path.chmod(0o755)  # the Docker sandbox's uid 10001 must be able to read what it mounts
        (tmp_path / "data.txt").write_text("payload")
        res = self.run(sb, py("import os; print(os.getcwd(), os.environ['GREETING'], open('data.txt').read())"),
                       mounts=[Mount(tmp_path, "/data")], workdir="/data", env={"GREETING": "hi"})
        assert res.stdout == "/data hi payload\n", res.stderr

    def test_file_mounts_below_a_directory(self, sb, tmp_path):
        (tmp_path / "spec.json").write_text('{"metric": "rmse"}')
        (tmp_path / "solution.csv").write_text("id,y\n")
        res = self.run(sb, py("import os; print(sorted(os.listdir('/input')))"),
                       mounts=[Mount(tmp_path / "spec.json", "/input/spec.json"),
                               Mount(tmp_path / "solution.csv", "/input/solution.csv")])
        assert res.stdout == "['solution.csv', 'spec.json']\n", res.stderr

    def test_output_dir_receives_regular_files_only(self, sb, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        res = self.run(sb, py(
            "import json, os\n"
            "json.dump({'ok': True, 'score': 0.5}, open('/output/score.json', 'w'))\n"
            "os.makedirs('/output/sub/deeper')\n"
            "open('/output/sub/deeper/p.csv', 'w').write('id,y\\n1,2\\n')\n"
            "os.symlink('/etc/passwd', '/output/link')\n"
            "os.mkfifo('/output/fifo')\n"), output_dir=out)
        assert res.exit_code == 0, res.stderr
        assert read_json_result(out / "score.json") == {"ok": True, "score": 0.5}
        assert (out / "sub" / "deeper" / "p.csv").read_text() == "id,y\n1,2\n"
        assert not (out / "link").exists() and not (out / "link").is_symlink()
        assert not (out / "fifo").exists()

    # -- limits ---------------------------------------------------------------
    def test_hard_timeout(self, sb):
        t0 = time.monotonic()
        res = self.run(sb, ["sleep", "infinity"])
        assert res.timed_out and res.limit_hit == "time" and res.exit_code is None
        assert "2 s" in res.message
        assert time.monotonic() - t0 < SMALL.timeout_s + 3

    def test_timeout_kills_background_children(self, sb):
        res = self.run(sb, ["sh", "-c", "sleep 100 & sleep 100 & echo started; wait"])
        assert res.timed_out and res.stdout == "started\n"

    def test_pids_limit_stops_a_fork_bomb(self, sb):
        t0 = time.monotonic()
        res = self.run(sb, py("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"))
        assert res.limit_hit in self.fork_bomb_limits
        assert time.monotonic() - t0 < SMALL.timeout_s + 4

    def test_no_network(self, sb):
        res = self.run(sb, py(
            "import errno, socket, time\n"
            "t = time.monotonic()\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=10)\n"
            "    print('connected')\n"
            "except OSError as e:\n"
            "    print('connect', errno.errorcode.get(e.errno), round(time.monotonic() - t, 2))\n"
            "try:\n"
            "    socket.getaddrinfo('example.com', 80)\n"
            "    print('resolved')\n"
            "except OSError as e:\n"
            "    print('dns failed')\n"
            "print(sorted(n for _, n in socket.if_nameindex()))\n"))
        lines = res.stdout.splitlines()
        assert lines[0].split()[1] in self.unreachable_errors, res.stdout + res.stderr
        assert float(lines[0].split()[-1]) < 1.0  # refused at once, not a timeout
        assert lines[1] == "dns failed"
        assert lines[2] == "['lo']"

    def test_read_only_root(self, sb):
        res = self.run(sb, ["sh", "-c", "for p in /usr/x /x /etc/x /opt/heldout/heldout/x; do "
                                        "(echo hi > $p) 2>/dev/null && echo WROTE $p; done; "
                                        "echo ok > /tmp/ok && cat /tmp/ok"])
        assert res.stdout == "ok\n", res.stdout

    def test_mounts_are_read_only(self, sb, tmp_path):
        tmp_path.chmod(0o777)  # writable by anyone on the host: only the mount may refuse
        (tmp_path / "solution.csv").write_text("secret")
        (tmp_path / "solution.csv").chmod(0o666)
        res = self.run(sb, ["sh", "-c", "echo x > /data/solution.csv || echo denied; rm /data/solution.csv || echo denied"],
                       mounts=[Mount(tmp_path, "/data")])
        assert res.stdout == "denied\ndenied\n"
        assert res.stderr.count("Read-only file system") == 2, res.stderr
        assert (tmp_path / "solution.csv").read_text() == "secret"

    def test_memory_limit(self, sb):
        res = self.run(sb, py("b = bytearray(10 * 2**30)"))
        assert res.limit_hit == "memory", (res, res.stderr[-500:])
        assert res.exit_code != 0
        assert "256 MiB" in res.message

    def test_filling_tmp_is_stopped(self, sb):
        res = self.run(sb, ["sh", "-c", "head -c 10000000000 /dev/zero > /tmp/big"], limits=SMALL)
        assert res.exit_code != 0 and res.limit_hit in ("disk", "file_size")
        assert not res.timed_out

    def test_filling_output_is_stopped_and_copy_out_is_capped(self, sb, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        res = self.run(sb, py("f = open('/output/big', 'wb')\nwhile True:\n    f.write(b'x' * 2**20)"),
                       limits=SMALL.__class__(**{**SMALL.__dict__, "file_size_bytes": 1 << 30}), output_dir=out)
        assert res.exit_code != 0 and res.limit_hit == "disk", res
        total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        assert total <= SMALL.output_bytes

    def test_file_size_limit(self, sb):
        lim = SMALL.__class__(**{**SMALL.__dict__, "file_size_bytes": 1 << 20})
        res = self.run(sb, py("open('/tmp/f', 'wb').write(b'x' * (2 << 20))"), limits=lim)
        assert res.limit_hit == "file_size", res

    def test_printing_a_gigabyte_keeps_only_the_cap(self, sb):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lim = SMALL.__class__(**{**SMALL.__dict__, "timeout_s": 30, "output_kill_bytes": 2 << 30})
        res = self.run(sb, py("import sys\nb = b'y' * 2**20 + b'\\n'\nfor _ in range(1024):\n"
                              "    sys.stdout.buffer.write(b)\nprint('THE END')"), limits=lim)
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert res.exit_code == 0 and res.stdout_truncated
        assert len(res.stdout) <= lim.output_cap_bytes + 100
        assert res.stdout.rstrip().endswith("THE END") and "bytes omitted" in res.stdout
        assert grown_mib < 64, f"worker grew by {grown_mib:.0f} MiB"

    def test_endless_printing_is_killed(self, sb):
        lim = SMALL.__class__(**{**SMALL.__dict__, "timeout_s": 30, "output_kill_bytes": 32 << 20})
        t0 = time.monotonic()
        res = self.run(sb, ["sh", "-c", "yes 'spam spam spam'"], limits=lim)
        assert res.limit_hit == "output" and time.monotonic() - t0 < 15

    # -- isolation -----------------------------------------------------------
    def test_host_paths_are_not_visible(self, sb, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("top secret")
        res = self.run(sb, py(
            f"import os\n"
            f"for p in [{str(secret)!r}, {str(REPO / 'pyproject.toml')!r}, {str(REPO / 'heldout' / 'platform')!r},"
            f" '/var/lib/docker', '/root/.bash_history', '/etc/docker', '/run/docker.sock', '/var/run/docker.sock']:\n"
            f"    print(p, os.path.exists(p))\n"))
        assert res.exit_code == 0, res.stderr
        assert " True" not in res.stdout, res.stdout

    def test_worker_environment_is_not_visible(self, sb, monkeypatch):
        monkeypatch.setenv("HELDOUT_SECRET_KEY_FOR_TEST", "hunter2")
        res = self.run(sb, ["sh", "-c", "env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'"])
        assert "hunter2" not in res.stdout and "HELDOUT_SECRET" not in res.stdout
        assert "PYTHONPATH=/opt/heldout" in res.stdout

    def test_runs_as_non_root_without_capabilities(self, sb):
        res = self.run(sb, ["sh", "-c", "id -u; id -g; grep -E '^(CapEff|CapPrm|CapBnd)' /proc/self/status; python3 -c "
                                        "\"import ctypes; print('NoNewPrivs:', ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))\""])
        lines = dict(line.split(":", 1) for line in res.stdout.splitlines()[2:])
        uid, gid = res.stdout.splitlines()[:2]
        assert int(uid) == self.expected_uid and int(uid) != 0 and int(gid) != 0
        assert int(lines["CapEff"], 16) == 0 and int(lines["CapPrm"], 16) == 0 and int(lines["CapBnd"], 16) == 0
        assert lines["NoNewPrivs"].strip() == "1"

    def test_cannot_forge_the_result_channel(self, sb):
        forged = '{"v": 1, "exit": 0, "timed_out": false, "stdout": {"head": "", "tail": "", "total": 0}}'
        res = self.run(sb, ["sh", "-c", f"echo '{forged}' > /proc/1/fd/1; kill -9 1; kill -INT 1; "
                                        "cat /proc/1/environ >/dev/null 2>&1 && echo LEAK; exit 3"])
        assert res.exit_code == 3 and "LEAK" not in res.stdout

    def test_no_stray_processes_survive(self, sb):
        marker = f"heldout-stray-{os.getpid()}-{time.monotonic_ns()}"
        res = self.run(sb, ["sh", "-c", f"(exec -a {marker} sleep 300) & echo bg"])
        assert res.exit_code == 0
        time.sleep(0.2)
        alive = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).startswith(marker)]
        assert not alive


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
