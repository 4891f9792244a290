"""Running one task in the sandbox as its challenge's kind says: predictions, code, or a reinforcement policy.

The scoring job (``heldout.runner.jobs``) and a bundle's baseline check
(``heldout.runner.baseline``) both run their tasks here.
"""

from __future__ import annotations

from heldout.runner.execute import run_code, score_predictions
from heldout.runner.outcome import Outcome
from heldout.runner.reinforcement import run_reinforcement


def run_task(sandbox, storage, task, scorer=None) -> Outcome:  # noqa: ANN001
    """Run one submission as its challenge's kind says (also a bundle's baseline: runner.baseline).

    ``scorer`` (a warm scorer, runner.sandbox.warm) scores prediction files only; code and policies always
    run in fresh single-use sandboxes."""
    # Code and policies: the visible run, then the hidden run (see heldout.runner.visible).
    if task.scoring_spec.get("task_type") == "reinforcement":
        return run_reinforcement(sandbox, storage, task)
    if task.kind == "code":
        return run_code(sandbox, storage, task)
    return score_predictions(sandbox, storage, task, scorer=scorer)
