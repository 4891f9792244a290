"""What the visible run costs: a code submission's visible run, its hidden run, and "Check my file".

    python bench/bench_code_runs.py [--sandbox bubblewrap|docker] [--runs 10]

On the tiny code challenge (tests/bundles.py: 5 example rows, 40 hidden rows) with a standard-library
predict.py, and on the shipped cartpole challenge with its baseline policy: wall time of each part, in
milliseconds (median and 90th percentile of ``--runs``), as the worker runs them. The visible run is what a
submission now pays on top of its hidden run, and all that a check pays (it is the same call).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import pct  # noqa: E402
from heldout.challenges.bundle import load_bundle  # noqa: E402
from heldout.runner.execute import hidden_code_run, visible_code_run  # noqa: E402
from heldout.runner.outcome import ScoringTask  # noqa: E402
from heldout.runner.reinforcement import hidden_policy_run, visible_policy_run  # noqa: E402
from heldout.runner.sandbox import get_sandbox  # noqa: E402
from heldout.storage import LocalStorage  # noqa: E402
from tests.bundles import COPY_SAMPLE_PREDICT, write_code_bundle  # noqa: E402


def staged_task(storage: LocalStorage, bundle_root: Path, source: str, filename: str) -> ScoringTask:
    """The bundle published into ``storage`` the way publishing does, and a submission of ``source``."""
    with load_bundle(bundle_root) as bundle:
        slug = bundle.slug
        storage.save_file(f"{slug}/solution.csv", bundle.solution.path)
        downloads = {f.name: f"{slug}/files/{f.name}" for f in bundle.files}
        runtime = {f.name: f"{slug}/runtime/{f.name}" for f in bundle.runtime_files}
        example = {f.name: f"{slug}/example/{f.name}" for f in bundle.example_files}
        for keys, files in ((downloads, bundle.files), (runtime, bundle.runtime_files),
                            (example, bundle.example_files)):
            for f in files:
                storage.save_file(keys[f.name], f.path)
        rules = {"code": asdict(bundle.rules.code)}
        if bundle.environment is not None:
            rules["environment"] = asdict(bundle.environment)
        test_mounts = [m for m, name in bundle.rules.code.data.items() if bundle.test and name == bundle.test.name]
        rules["test_mount"] = test_mounts[0] if test_mounts else None
        spec = bundle.spec.to_dict()
    upload = storage.local_path(f"{slug}/upload/{filename}")
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text(source)
    return ScoringTask(submission_id=0, run_token="bench", kind="code", file_key=f"{slug}/upload/{filename}",
                       filename=filename, challenge_id=0, challenge_version=0, scoring_spec=spec,
                       solution_key=f"{slug}/solution.csv", rules=rules, data_keys=runtime or downloads,
                       visible_data_keys=example or downloads)


def timed_ms(fn, runs: int) -> tuple[list[float], object]:  # noqa: ANN001
    fn()  # warm-up: page cache, image layers
    out, last = [], None
    for _ in range(runs):
        started = time.perf_counter()
        last = fn()
        out.append((time.perf_counter() - started) * 1000)
    return out, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="bubblewrap", choices=["bubblewrap", "docker"])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    sandbox = get_sandbox(args.sandbox)
    with tempfile.TemporaryDirectory(prefix="bench-code-runs-") as tmp:
        storage = LocalStorage(Path(tmp) / "files")
        code = staged_task(storage, write_code_bundle(Path(tmp) / "code"), COPY_SAMPLE_PREDICT, "predict.py")
        policy = staged_task(storage, ROOT / "challenges" / "cartpole-balance",
                             (ROOT / "challenges" / "cartpole-balance" / "policy.py").read_text(), "policy.py")
        rows = (ROOT / "challenges" / "cartpole-balance" / "solution.csv").read_text().splitlines()[1:]
        public = sum(1 for row in rows if row.rsplit(",", 1)[-1].strip().lower() == "public")
        parts = [
            ("code: visible run (= the check)", lambda: visible_code_run(sandbox, storage, code)),
            ("code: hidden run + scorer", lambda: hidden_code_run(sandbox, storage, code)),
            (f"policy: visible run, {public} public episodes (= the check)",
             lambda: visible_policy_run(sandbox, storage, policy)),
            (f"policy: hidden run, all {len(rows)} episodes", lambda: hidden_policy_run(sandbox, storage, policy)),
        ]
        print(f"sandbox: {sandbox.name}, {args.runs} runs each (after one warm-up)")
        print(f"{'part':<56} {'median ms':>10} {'p90 ms':>10}  outcome")
        for name, fn in parts:
            times, last = timed_ms(fn, args.runs)
            verdict = getattr(last, "message", None) or getattr(getattr(last, "status", None), "value", "")
            print(f"{name:<56} {pct(times, 0.5):>10.0f} {pct(times, 0.9):>10.0f}  {str(verdict)[:60]}")


if __name__ == "__main__":
    main()
