"""Cart-pole balancing: a reinforcement-learning challenge scored by mean return.

The environment ships as the very module the evaluator runs; the hidden
solution lists the evaluation episodes and their seeds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from .common import rng, write_csv

SLUG = "cartpole-balance"
PUBLIC_EPISODES, PRIVATE_EPISODES = 20, 30


def build(out: Path) -> None:
    import heldout.challenges.environments.cartpole as environment

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(environment.__file__, out / "cartpole.py")
    count = PUBLIC_EPISODES + PRIVATE_EPISODES
    seeds = rng(500).randint(0, 2**31 - 1, size=count)
    assert len(set(seeds.tolist())) == count, "episode seeds must differ"
    solution = pd.DataFrame({
        "episode": range(count),
        "seed": seeds,
        "Usage": ["Public"] * PUBLIC_EPISODES + ["Private"] * PRIVATE_EPISODES,
    })
    write_csv(solution, out / "solution.csv")
