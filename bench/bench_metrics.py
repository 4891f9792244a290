"""Each metric against its scikit-learn counterpart on the same large random inputs.

    python bench/bench_metrics.py [--rows 10000000] [--repeat 3] [--only NAME ...]

Prints: name | ours s | sklearn s | speed-up (sklearn / ours) | relative
difference of the values. Times are the best of ``--repeat`` runs, ours and
scikit-learn's alternating so that both see the same machine load. Ranking
metrics run on rows / 10 (scikit-learn's ``ndcg_score`` needs a dense
rows x items matrix); metrics without a scikit-learn counterpart show "-".
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn.metrics as skm  # noqa: E402

from heldout.challenges import metrics as m  # noqa: E402


def sk_rmse(y, p):
    return skm.root_mean_squared_error(y, p) if hasattr(skm, "root_mean_squared_error") else \
        skm.mean_squared_error(y, p, squared=False)


def sk_rmsle(y, p):
    return skm.root_mean_squared_log_error(y, p) if hasattr(skm, "root_mean_squared_log_error") else \
        skm.mean_squared_log_error(y, p, squared=False)


def make_inputs(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    binary = (rng.random(n) < 0.3).astype(np.int64)
    labels = rng.integers(0, 5, n)
    guess = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 5, n))
    probs = rng.random((n, 5)) + 2 * np.eye(5)[labels]
    probs /= probs.sum(axis=1, keepdims=True)
    values = rng.gamma(2.0, 3.0, n)
    return {
        "binary": binary,
        "binary_guess": np.where(rng.random(n) < 0.8, binary, 1 - binary),
        "scores": np.clip(0.25 * binary + 0.75 * rng.random(n), 0, 1),
        "labels": labels, "guess": guess, "probs": probs,
        "values": values, "predicted": np.abs(values + rng.normal(0, 2, n)),
    }


def ranking_inputs(n: int, items: int = 20, k: int = 5, seed: int = 1):
    rng = np.random.default_rng(seed)
    relevance = (rng.random((n, items)) < 0.1).astype(np.float64)
    scores = rng.random((n, items)) + 0.3 * relevance
    order = np.argsort(-scores, axis=1)
    names = np.array([f"i{j}" for j in range(items)])
    truth = np.array([" ".join(names[row > 0]) for row in relevance], dtype=object)
    predicted = np.array([" ".join(names[row[:k]]) for row in order], dtype=object)
    return relevance, scores, truth, predicted, k


def cases(d: dict, ranking) -> list:
    relevance, scores, truth, predicted, k = ranking
    b, s, lab, g, pr = d["binary"], d["scores"], d["labels"], d["guess"], d["probs"]
    v, p = d["values"], d["predicted"]
    return [
        ("accuracy", lambda: m.accuracy_score(lab, g), lambda: skm.accuracy_score(lab, g)),
        ("balanced_accuracy", lambda: m.balanced_accuracy_score(lab, g), lambda: skm.balanced_accuracy_score(lab, g)),
        ("f1 (binary)", lambda: m.f1_score(b, d["binary_guess"]), lambda: skm.f1_score(b, d["binary_guess"])),
        ("f1 (macro)", lambda: m.f1_score(lab, g, average="macro"), lambda: skm.f1_score(lab, g, average="macro")),
        ("precision (weighted)", lambda: m.precision_score(lab, g, average="weighted"),
         lambda: skm.precision_score(lab, g, average="weighted")),
        ("recall (micro)", lambda: m.recall_score(lab, g, average="micro"),
         lambda: skm.recall_score(lab, g, average="micro")),
        ("matthews_corrcoef", lambda: m.matthews_corrcoef(lab, g), lambda: skm.matthews_corrcoef(lab, g)),
        ("cohen_kappa", lambda: m.cohen_kappa_score(lab, g), lambda: skm.cohen_kappa_score(lab, g)),
        ("quadratic_weighted_kappa", lambda: m.quadratic_weighted_kappa(lab, g),
         lambda: skm.cohen_kappa_score(lab, g, weights="quadratic")),
        ("log_loss (binary)", lambda: m.log_loss(b, s), lambda: skm.log_loss(b, s)),
        ("log_loss (5 classes)", lambda: m.log_loss(lab, pr), lambda: skm.log_loss(lab, pr)),
        ("roc_auc (binary)", lambda: m.roc_auc_score(b, s), lambda: skm.roc_auc_score(b, s)),
        ("roc_auc (5 classes, ovr)", lambda: m.roc_auc_score(lab, pr),
         lambda: skm.roc_auc_score(lab, pr, multi_class="ovr")),
        ("average_precision", lambda: m.average_precision_score(b, s), lambda: skm.average_precision_score(b, s)),
        ("rmse", lambda: m.root_mean_squared_error(v, p), lambda: sk_rmse(v, p)),
        ("mse", lambda: m.mean_squared_error(v, p), lambda: skm.mean_squared_error(v, p)),
        ("mae", lambda: m.mean_absolute_error(v, p), lambda: skm.mean_absolute_error(v, p)),
        ("rmsle", lambda: m.root_mean_squared_log_error(v, p), lambda: sk_rmsle(v, p)),
        ("r2", lambda: m.r2_score(v, p), lambda: skm.r2_score(v, p)),
        ("mape", lambda: m.mean_absolute_percentage_error(v, p), lambda: skm.mean_absolute_percentage_error(v, p)),
        ("median_absolute_error", lambda: m.median_absolute_error(v, p), lambda: skm.median_absolute_error(v, p)),
        ("smape", lambda: m.symmetric_mean_absolute_percentage_error(v, p), None),
        ("adjusted_rand_index", lambda: m.adjusted_rand_score(lab, g), lambda: skm.adjusted_rand_score(lab, g)),
        ("normalized_mutual_info", lambda: m.normalized_mutual_info_score(lab, g),
         lambda: skm.normalized_mutual_info_score(lab, g)),
        ("mean_episode_return", lambda: m.mean_episode_return(None, v), None),
        (f"ndcg_at_k (k={k}, rows/10)", lambda: m.ndcg_at_k(truth, predicted, k=k),
         lambda: skm.ndcg_score(relevance, scores, k=k, ignore_ties=True)),
        (f"map_at_k (k={k}, rows/10)", lambda: m.map_at_k(truth, predicted, k=k), None),
    ]


def timed(func) -> tuple[float, float]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, float(value)


def best_times(ours, theirs, repeat: int):
    """Best time of each side, the two run alternately so that both see the same machine load."""
    ours_s = theirs_s = float("inf")
    ours_v = theirs_v = None
    for _ in range(repeat):
        seconds, ours_v = timed(ours)
        ours_s = min(ours_s, seconds)
        if theirs is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, theirs_v = timed(theirs)
            theirs_s = min(theirs_s, seconds)
    return ours_s, ours_v, theirs_s, theirs_v


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="metric names to run (prefix match)")
    args = parser.parse_args(argv)
    data = make_inputs(args.rows)
    ranking = ranking_inputs(max(args.rows // 10, 10))
    print(f"{args.rows:,} rows, numpy {np.__version__}, scikit-learn {__import__('sklearn').__version__}, "
          f"best of {args.repeat}")
    print(f"{'metric':<28} | {'ours s':>8} | {'sklearn s':>9} | {'speed-up':>8} | {'rel diff':>8}")
    print("-" * 74)
    for name, ours, theirs in cases(data, ranking):
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        ours_s, ours_v, sk_s, sk_v = best_times(ours, theirs, args.repeat)
        if theirs is None:
            print(f"{name:<28} | {ours_s:8.3f} | {'-':>9} | {'-':>8} | {'-':>8}", flush=True)
            continue
        diff = abs(ours_v - sk_v) / max(abs(sk_v), 1e-300)
        print(f"{name:<28} | {ours_s:8.3f} | {sk_s:9.3f} | {sk_s / ours_s:7.1f}x | {diff:8.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
