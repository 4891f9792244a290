"""End-to-end scoring figures: reading, checking and scoring a large submission, the bootstrap, import cost.

    python bench/bench_scoring.py [--rows 1000000] [--bootstrap-rows 100000] [--resamples 1000]

1. In process: read + validate + score a binary-probability submission
   (ROC AUC and log loss, 30% public rows), each stage timed.
2. The same through ``python -m heldout.challenges score`` in a subprocess,
   as the sandbox runs it: wall time, the scorer's own timings, peak RSS.
3. Bootstrap: ``--resamples`` resamples of ``--bootstrap-rows`` rows per metric.
4. Import cost of ``python -m heldout.challenges`` (best of 5), next to bare
   Python and ``import numpy``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from heldout.challenges.bootstrap import bootstrap_ci  # noqa: E402
from heldout.challenges.metrics import get_metric  # noqa: E402
from heldout.challenges.scoring import score_submission  # noqa: E402
from heldout.challenges.spec import ScoringSpec  # noqa: E402
from heldout.challenges.validation import read_solution, read_submission  # noqa: E402


def write_files(folder: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    truth = (rng.random(n) < 0.3).astype(int)
    probability = np.clip(0.3 * truth + 0.7 * rng.random(n), 0, 1)
    usage = np.where(rng.random(n) < 0.3, "Public", "Private")
    order = rng.permutation(n)  # learners' rows come in any order
    solution, submission = folder / "solution.csv", folder / "submission.csv"
    solution.write_text("id,target,Usage\n" + "".join(f"{i},{t},{u}\n" for i, t, u in
                                                      zip(range(n), truth.tolist(), usage.tolist())))
    submission.write_text("id,target\n" + "".join(f"{i},{p!r}\n" for i, p in
                                                  zip(order.tolist(), probability[order].tolist())))
    return submission, solution


def timed(func):
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def in_process(submission: Path, solution: Path, metric: str, resamples: int) -> dict:
    spec = ScoringSpec(metric=metric, task_type="binary", probabilities=True, id_dtype="int",
                       bootstrap_resamples=resamples)
    sol, read_solution_s = timed(lambda: read_solution(solution, spec))
    sub, read_submission_s = timed(lambda: read_submission(submission, spec, sol.ids))
    no_ci = ScoringSpec(**{**spec.to_dict(), "bootstrap_resamples": 0})
    _, metric_s = timed(lambda: score_submission(sub, sol, no_ci))
    result, score_s = timed(lambda: score_submission(sub, sol, spec))
    return {"read solution": read_solution_s, "read + check submission": read_submission_s,
            "score both splits": metric_s, "score + bootstrap CI": score_s,
            "ci resamples": result.ci_resamples, "public rows": result.public_rows}


def through_cli(submission: Path, solution: Path, metric: str, folder: Path) -> dict:
    spec = folder / f"spec-{metric}.json"
    ScoringSpec(metric=metric, task_type="binary", probabilities=True, id_dtype="int").write(spec)
    out = folder / f"out-{metric}.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "heldout.challenges", "score", "--spec", str(spec),
                           "--submission", str(submission), "--solution", str(solution), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    payload = json.loads(out.read_text())
    return {"wall_s": wall, "timings": payload["timings"], "peak_rss_mib": peak_kib / 1024,
            "peak_is_this_run": peak_kib > before}


def bootstrap_figures(n: int, resamples: int) -> list[tuple[str, float, int]]:
    rng = np.random.default_rng(1)
    binary = (rng.random(n) < 0.3).astype(int)
    scores = np.clip(0.3 * binary + 0.7 * rng.random(n), 0, 1)
    labels = rng.integers(0, 5, n)
    guess = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 5, n))
    values = rng.gamma(2.0, 3.0, n)
    predicted = np.abs(values + rng.normal(0, 2, n))
    probs = rng.random((n, 5)) + 2 * np.eye(5)[labels]
    probs /= probs.sum(axis=1, keepdims=True)
    cases = [("accuracy", labels, guess, {}), ("f1 (macro)", labels, guess, {"average": "macro"}),
             ("quadratic_weighted_kappa", labels, guess, {}), ("log_loss", binary, scores, {}),
             ("roc_auc", binary, scores, {}), ("roc_auc (scores rounded to 0.001)", binary, np.round(scores, 3), {}),
             ("average_precision", binary, scores, {}), ("rmse", values, predicted, {}),
             ("mae", values, predicted, {}), ("r2", values, predicted, {}),
             ("median_absolute_error", values, predicted, {}), ("log_loss (5 classes)", labels, probs, {}),
             ("roc_auc (5 classes)", labels, probs, {})]
    rows = []
    for label, y_true, y_pred, params in cases:
        metric = get_metric(label.split(" ")[0])
        # timed() calls the lambda before the loop moves on, so it sees this round's values.
        ci, seconds = timed(lambda: bootstrap_ci(metric, y_true, y_pred, params=params,  # noqa: B023
                                                 resamples=resamples, seed=0))  # noqa: B023
        rows.append((label, seconds, ci.resamples))
    return rows


def import_cost(repeat: int = 5) -> dict:
    def best(argv):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        return min(times)

    return {"python -c pass": best([sys.executable, "-c", "pass"]),
            "python -c 'import numpy'": best([sys.executable, "-c", "import numpy"]),
            "python -m heldout.challenges --help": best([sys.executable, "-m", "heldout.challenges", "--help"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bootstrap-rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="heldout-bench-") as tmp:
        folder = Path(tmp)
        submission, solution = write_files(folder, args.rows)
        size = submission.stat().st_size / 2**20
        print(f"\n1. in process, {args.rows:,}-row binary-probability submission ({size:.1f} MiB)")
        for metric in ("roc_auc", "log_loss"):
            figures = in_process(submission, solution, metric, args.resamples)
            print(f"  {metric}: " + ", ".join(f"{k} {v:.3f} s" if isinstance(v, float) else f"{k} {v:,}"
                                              for k, v in figures.items()))
        print("\n2. python -m heldout.challenges score, same files")
        for metric in ("log_loss", "roc_auc"):
            cli = through_cli(submission, solution, metric, folder)
            timings = ", ".join(f"{k} {v:.3f}" for k, v in cli["timings"].items())
            print(f"  {metric}: wall {cli['wall_s']:.2f} s ({timings}); peak RSS of scorers so far "
                  f"{cli['peak_rss_mib']:.0f} MiB")
    print(f"\n3. bootstrap: {args.resamples} resamples of {args.bootstrap_rows:,} rows")
    print(f"  {'metric':<36} | {'seconds':>7} | resamples used")
    for label, seconds, used in bootstrap_figures(args.bootstrap_rows, args.resamples):
        print(f"  {label:<36} | {seconds:7.3f} | {used}")
    print("\n4. import cost (subprocess wall time, best of 5)")
    for label, seconds in import_cost().items():
        print(f"  {label:<40} {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
