"""Reinforcement-learning environments that the trusted evaluator runs.

Each environment is a standalone module (NumPy and the standard library only)
so the same file can ship inside its challenge for learners. An environment
has ``reset(seed) -> observation``, ``step(action) -> (observation, reward,
done)``, a tuple ``actions`` of the valid actions and ``observation_size``.
"""

from __future__ import annotations

from .cartpole import CartPole

ENVIRONMENTS = {"cartpole": CartPole}


def make_environment(name: str, params: dict | None = None) -> CartPole:
    """A fresh environment by registry name, configured with ``params``."""
    try:
        cls = ENVIRONMENTS[name]
    except KeyError:
        raise KeyError(f"unknown environment {name!r}; known: {', '.join(sorted(ENVIRONMENTS))}") from None
    return cls(**(params or {}))
