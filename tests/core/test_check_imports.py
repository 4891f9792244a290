"""tools/check_imports.py: the layering, no cycles, and the web tier's narrow seam into the runner."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_checker():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "tools" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_code_as_it_is_passes(capsys):
    assert load_checker().main() == 0
    assert "no cycle" in capsys.readouterr().out


def test_the_web_tier_imports_of_the_runner_only_the_queue_and_the_state_it_shows():
    check = load_checker()
    assert check.seam_problem("heldout.platform.services.submissions", "heldout.runner.queue") is None
    assert "web tier imports of the runner only" in check.seam_problem(
        "heldout.platform.services.checks", "heldout.runner.execute")
    assert check.seam_problem("heldout.platform.views.health", "heldout.runner.sandbox.base") is not None
    # The seam itself may not pull in the scoring code, or the web tier would load it all the same.
    assert "only the seam" in check.seam_problem("heldout.runner.claims", "heldout.runner.visible")
    assert check.seam_problem("heldout.runner.claims", "heldout.runner.outcome") is None
    # The workers' own modules import what they like of the runner.
    assert check.seam_problem("heldout.runner.jobs", "heldout.runner.execute") is None


def test_only_config_reads_the_environment_and_a_subprocess_may_be_handed_it(tmp_path):
    check = load_checker()
    module = tmp_path / "module.py"
    module.write_text("import os\nfrom os import getenv\n\nA = os.environ.get('HELDOUT_X')\nB = os.getenv('Y')\n"
                      "ENV = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}\n")
    found = check.environment_uses(module, "heldout.runner.sandbox.image")
    assert [(line, problem.split(":")[0]) for line, problem in found] == [
        (2, "imports getenv from os"), (4, "reads os.environ"), (5, "reads os.getenv"), (6, "reads os.environ")]
    assert "only in heldout/config.py" in found[0][1]
    # The module allowed to hand its environment to apt-get may do only that.
    passed_on = check.environment_uses(module, "heldout.runner.sandbox.prepare")
    assert [line for line, _problem in passed_on] == [2, 4, 5]
    assert check.environment_uses(module, "heldout.config") == []
