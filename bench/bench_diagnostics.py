"""What the public-split diagnostics add to scoring one submission.

    python bench/bench_diagnostics.py [--rows 1000000] [--runs 5]

Prints, per kind of challenge, the median and worst time of
``public_diagnostics`` over ``--runs`` runs, with half the rows public, and
the size of the JSON it writes into ``score.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import pct, timed  # noqa: E402
from heldout.challenges.diagnostics import public_diagnostics  # noqa: E402
from heldout.challenges.scoring import MetricInputs  # noqa: E402


def cases(n: int, rng: np.random.Generator) -> dict:
    labels = list("abcdefghij")
    return {
        "regression: binned residuals + histogram": (
            MetricInputs(rng.normal(size=n), rng.normal(size=n), {}), "values", "regression"),
        "binary probabilities: confusion + calibration": (
            MetricInputs(rng.random(n) < 0.5, rng.random(n), {}, labels=["0", "1"], positive=1),
            "probabilities", "binary"),
        "multiclass labels (10): confusion": (
            MetricInputs(rng.integers(0, 10, n), rng.integers(0, 10, n), {}, labels=labels), "labels", "multiclass"),
        "multiclass probabilities (10): confusion + calibration": (
            MetricInputs(rng.integers(0, 10, n), rng.dirichlet(np.ones(10), n), {}, labels=labels),
            "probabilities", "multiclass"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    public = rng.random(args.rows) < 0.5
    print(f"{args.rows:,} rows, {int(public.sum()):,} public, {args.runs} runs")
    print(f"{'kind':56} {'p50 ms':>8} {'max ms':>8} {'JSON bytes':>11}")
    for name, (inputs, kind, task) in cases(args.rows, rng).items():
        times = timed(lambda: public_diagnostics(inputs, kind, task, public), args.runs, warmup=1)  # noqa: B023
        size = len(json.dumps(public_diagnostics(inputs, kind, task, public)))
        print(f"{name:56} {pct(times, 0.5):8.0f} {max(times):8.0f} {size:11,}")


if __name__ == "__main__":
    main()
