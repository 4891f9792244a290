"""Scoring a submission: public and private splits, label conventions, and what must never leak."""

import io
import json
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm

from heldout.challenges.errors import BundleError, SubmissionError
from heldout.challenges.scoring import ScoreResult, UnscorableSplit, score_files, score_frames
from heldout.challenges.spec import ScoringSpec

rng = np.random.default_rng(11)
N = 400
USAGE = np.where(rng.random(N) < 0.3, "Public", "Private")
PUBLIC = USAGE == "Public"


def csv_bytes(header: list[str], *columns) -> bytes:
    lines = [",".join(header)] + [",".join(map(str, row)) for row in zip(*columns)]
    return ("\n".join(lines) + "\n").encode()


def solution(truth, name="target"):
    return csv_bytes(["id", name, "Usage"], range(N), truth, USAGE)


def submission(*columns, header=("id", "target"), order=None):
    rows = np.arange(N) if order is None else order
    return csv_bytes(list(header), rows, *[np.asarray(c)[rows] for c in columns])


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(func(*args, **kwargs))


def score(sub: bytes, sol: bytes, **spec) -> ScoreResult:
    return score_files(io.BytesIO(sub), io.BytesIO(sol), ScoringSpec(**{"id_dtype": "int", **spec}))


BINARY = (rng.random(N) < 0.4).astype(int)
PROB = np.round(np.clip(0.35 * BINARY + 0.65 * rng.random(N), 0, 1), 4)


def test_binary_auc_scores_each_split_like_sklearn():
    result = score(submission(PROB), solution(BINARY), metric="roc_auc", task_type="binary", probabilities=True)
    assert result.public_score == pytest.approx(skm.roc_auc_score(BINARY[PUBLIC], PROB[PUBLIC]), rel=1e-12)
    assert result.private_score == pytest.approx(skm.roc_auc_score(BINARY[~PUBLIC], PROB[~PUBLIC]), rel=1e-12)
    assert (result.public_rows, result.private_rows) == (PUBLIC.sum(), (~PUBLIC).sum())
    low, high = result.public_ci
    assert low < result.public_score < high
    assert result.ci_resamples == 1000


def test_rows_in_any_order_score_the_same():
    shuffled = submission(PROB, order=rng.permutation(N))
    spec = dict(metric="roc_auc", task_type="binary", probabilities=True)
    assert score(shuffled, solution(BINARY), **spec) == score(submission(PROB), solution(BINARY), **spec)


def test_the_result_is_plain_json():
    result = score(submission(PROB), solution(BINARY), metric="log_loss", task_type="binary")
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(data) == {"public_score", "private_score", "public_ci", "public_rows", "private_rows", "ci_resamples",
                         "diagnostics", "private_ci"}
    # Each split's score has its own interval, around it.
    for split in ("public", "private"):
        low, high = data[f"{split}_ci"]
        assert low <= data[f"{split}_score"] <= high


def test_string_labels_with_a_positive_class():
    names = np.where(BINARY == 1, "spam", "ham")
    result = score(submission(PROB), solution(names), metric="average_precision", task_type="binary",
                   metric_params={"pos_label": "spam"})
    assert result.public_score == pytest.approx(skm.average_precision_score(BINARY[PUBLIC], PROB[PUBLIC]))
    flipped = score(submission(PROB), solution(names), metric="roc_auc", task_type="binary",
                    metric_params={"pos_label": "ham"})
    assert flipped.public_score == pytest.approx(1 - skm.roc_auc_score(BINARY[PUBLIC], PROB[PUBLIC]))


def test_multiclass_probabilities_use_one_column_per_class():
    classes = ["setosa", "versicolor", "virginica"]
    truth = np.array(classes)[rng.integers(0, 3, N)]
    raw = rng.random((N, 3)) + (truth[:, None] == np.array(classes))
    probs = np.round(raw / raw.sum(axis=1, keepdims=True), 6)
    probs[:, 2] = np.round(1 - probs[:, 0] - probs[:, 1], 6)
    columns = ["virginica", "setosa", "versicolor"]  # any order in the file
    sub = submission(*[probs[:, classes.index(c)] for c in columns], header=["id", *columns])
    result = score(sub, solution(truth, "species"), metric="log_loss", task_type="multiclass",
                   target_columns=classes, solution_columns=["species"], probabilities=True, rows_sum_to_one=True)
    expected = quiet(skm.log_loss, truth[PUBLIC], probs[PUBLIC], labels=classes)
    assert result.public_score == pytest.approx(expected, rel=1e-9)


def test_label_metrics_with_declared_labels_and_binary_f1():
    truth = rng.integers(1, 6, N)
    guess = np.clip(truth + rng.integers(-1, 2, N), 1, 5)
    result = score(submission(guess), solution(truth), metric="quadratic_weighted_kappa", task_type="multiclass",
                   labels=[1, 2, 3, 4, 5])
    expected = skm.cohen_kappa_score(truth[PUBLIC], guess[PUBLIC], weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert result.public_score == pytest.approx(expected)
    in_options = score(submission(guess), solution(truth), metric="quadratic_weighted_kappa", task_type="multiclass",
                       metric_params={"labels": [1, 2, 3, 4, 5]})
    assert in_options.public_score == result.public_score
    f1 = score(submission(BINARY[::-1]), solution(BINARY), metric="f1", task_type="binary")
    assert f1.private_score == pytest.approx(skm.f1_score(BINARY[~PUBLIC], BINARY[::-1][~PUBLIC]))


def test_macro_f1_on_text_labels():
    animals = np.array(["cat", "dog", "emu"])
    truth, guess = animals[rng.integers(0, 3, N)], animals[rng.integers(0, 3, N)]
    result = score(submission(guess), solution(truth), metric="f1", task_type="multiclass",
                   metric_params={"average": "macro"})
    assert result.public_score == pytest.approx(skm.f1_score(truth[PUBLIC], guess[PUBLIC], average="macro"))


def test_regression_and_multi_output():
    truth, guess = rng.normal(size=(N, 2)), rng.normal(size=(N, 2))
    sol = csv_bytes(["id", "a", "b", "Usage"], range(N), truth[:, 0].tolist(), truth[:, 1].tolist(), USAGE)
    sub = csv_bytes(["id", "pa", "pb"], range(N), guess[:, 0].tolist(), guess[:, 1].tolist())
    result = score(sub, sol, metric="rmse", target_columns=["pa", "pb"], solution_columns=["a", "b"])
    expected = np.mean(np.sqrt(((truth[PUBLIC] - guess[PUBLIC]) ** 2).mean(axis=0)))
    assert result.public_score == pytest.approx(expected, rel=1e-12)


def test_clustering_scores_renumbered_clusters_perfectly():
    truth = rng.integers(0, 4, N)
    renumbered = np.array(["c", "a", "d", "b"])[truth]
    result = score(submission(renumbered), solution(truth), metric="adjusted_rand_index", task_type="clustering",
                   id_dtype="str")
    assert result.public_score == result.private_score == 1.0


def test_ranked_lists_and_episode_returns():
    truth = np.array([f"i{j}" for j in rng.integers(0, 5, N)], dtype=object)
    guess = np.array([f"i{j} i{(j + 1) % 5} i{(j + 2) % 5}" for j in rng.integers(0, 5, N)], dtype=object)
    result = score(submission(guess), solution(truth), metric="map_at_k", task_type="ranking",
                   metric_params={"k": 3})
    expected = np.mean([1 / (g.split().index(t) + 1) if t in g.split() else 0 for t, g in zip(truth, guess)][:N])
    public_expected = np.mean([1 / (g.split().index(t) + 1) if t in g.split() else 0
                               for t, g in zip(truth[PUBLIC], guess[PUBLIC])])
    assert result.public_score == pytest.approx(public_expected)
    assert 0 <= expected <= 1
    returns = rng.normal(100, 10, N)
    sol = csv_bytes(["id", "Usage"], range(N), USAGE)
    rl = score(submission(returns.tolist()), sol, metric="mean_episode_return", task_type="reinforcement",
               solution_columns=[])
    assert rl.public_score == pytest.approx(returns[PUBLIC].mean())


def test_dataframes_score_exactly_like_files():
    pd = pytest.importorskip("pandas")
    spec = ScoringSpec(metric="roc_auc", task_type="binary", probabilities=True, id_dtype="int")
    frames = score_frames(pd.read_csv(io.BytesIO(submission(PROB))), pd.read_csv(io.BytesIO(solution(BINARY))), spec)
    assert frames == score(submission(PROB), solution(BINARY), metric="roc_auc", task_type="binary",
                           probabilities=True)


def test_a_solution_without_private_rows_has_no_private_score():
    sol = csv_bytes(["id", "target", "Usage"], range(N), BINARY, ["Public"] * N)
    result = score(submission(PROB), sol, metric="roc_auc", task_type="binary")
    assert result.private_score is None and result.private_rows == 0


def test_a_metric_undefined_on_a_whole_split_is_the_challenges_fault():
    one_class_public = np.where(PUBLIC, 1, BINARY)
    with pytest.raises(UnscorableSplit, match="public split.*single class"):
        score(submission(PROB), solution(one_class_public), metric="roc_auc", task_type="binary")


def test_an_unknown_metric_option_is_the_challenges_fault():
    with pytest.raises(ValueError, match="no option"):
        score(submission(PROB), solution(BINARY), metric="roc_auc", metric_params={"multi_class": "ovr"})


def test_solution_labels_outside_the_declared_labels_are_the_challenges_fault():
    with pytest.raises(BundleError, match="not among the labels"):
        score(submission(BINARY), solution(BINARY + 1), metric="accuracy", task_type="binary", labels=[0, 1])


def test_errors_never_quote_the_solution():
    truth = 987654.125 + np.arange(N)  # distinctive digits any leak would show
    guesses = np.zeros(N)
    broken_submissions = [
        submission(guesses).replace(b"\n5,0.0", b"\n5,x"),
        submission(guesses).replace(b"\n5,0.0", b"\n5,nan"),
        submission(guesses).replace(b"\n5,0.0", b"\n4,0.0"),
        submission(guesses, order=np.arange(N - 3)),
        submission(guesses, order=np.r_[np.arange(N), 0]),
        submission(guesses, header=("id", "prediction")),
    ]
    for sub in broken_submissions:
        with pytest.raises(SubmissionError) as info:
            score(sub, solution(truth), metric="rmse")
        assert "987" not in json.dumps(info.value.to_dict())


def test_a_binary_challenge_without_declared_labels_rejects_a_third_label():
    guess = BINARY.astype(object).astype(str)
    guess[7] = "2"
    with pytest.raises(SubmissionError, match="not labels of this challenge") as info:
        score(submission(guess), solution(BINARY), metric="f1", task_type="binary")
    assert info.value.rows == [9] and info.value.column == "target"


def test_pos_label_names_the_positive_class_for_log_loss_too():
    names = np.where(BINARY == 1, "spam", "ham")
    result = score(submission(1 - PROB), solution(names), metric="log_loss", task_type="binary",
                   metric_params={"pos_label": "ham"})
    assert result.public_score == pytest.approx(quiet(skm.log_loss, BINARY[PUBLIC], PROB[PUBLIC]), rel=1e-9)
