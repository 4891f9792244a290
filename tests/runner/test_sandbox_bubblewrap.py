"""The bubblewrap backend (workers without Docker), against the real bwrap."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from heldout.runner.sandbox import SandboxUnavailable
from heldout.runner.sandbox.bubblewrap_backend import SANDBOX_UID, BubblewrapSandbox

sys.path.insert(0, str(Path(__file__).parent))
from test_sandbox_contract import SandboxContract, py  # noqa: E402


@pytest.fixture
def sb(bwrap_sandbox):
    return bwrap_sandbox


class TestBubblewrapContract(SandboxContract):
    expected_uid = SANDBOX_UID
    # No pids cgroup: RLIMIT_NPROC only binds a non-root worker; as root the
    # timeout ends a fork bomb (and the PID namespace dies with its init).
    fork_bomb_limits = ("pids", "time") if os.geteuid() == 0 else ("pids", "time")

    def test_memory_is_address_space_not_cgroup(self, sb):
        res = self.run(sb, py("import numpy as np; a = np.ones(10 * 2**30 // 8)"))
        assert res.limit_hit == "memory" and not res.oom_killed
        assert res.peak_memory_bytes is not None

    def test_python_prefix_is_read_only(self, sb):
        res = self.run(sb, ["sh", "-c", f"touch {sys.prefix}/x 2>/dev/null && echo WROTE; echo done"])
        assert res.stdout == "done\n"


def test_missing_bwrap_is_unavailable(tmp_path):
    sb = BubblewrapSandbox(bwrap=None)
    sb.bwrap = None
    with pytest.raises(SandboxUnavailable, match="apt-get install -y bubblewrap"):
        sb.check()
