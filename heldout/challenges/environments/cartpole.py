"""Cart-pole: keep a pole balanced on a cart by pushing the cart left or right.

A standalone module (NumPy and the standard library only) so that the very
same file ships inside the cart-pole challenge for learners to train against.

The physics are the classic frictionless cart-pole of Barto, Sutton and
Anderson (1983), integrated with Euler steps of ``tau`` seconds:

    observation = [cart position x, cart velocity, pole angle theta (rad), pole angular velocity]
    actions     = 0 (push left) or 1 (push right), a force of ``force`` newtons
    reward      = 1 for every step the pole stays up, so an episode's return is its length
    done        = |theta| > 12 degrees, |x| > 2.4, or ``max_steps`` steps survived

An episode starts from a small random state drawn from the episode's seed.
The draw uses SHA-256, not a pseudo-random generator, so a seed gives the same
start on every platform and NumPy version (scores must never drift).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

GRAVITY = 9.8
CART_MASS = 1.0
POLE_MASS = 0.1
POLE_HALF_LENGTH = 0.5
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4


def seeded_uniform(seed: int, count: int, low: float, high: float) -> np.ndarray:
    """``count`` numbers in [low, high) that depend only on ``seed``."""
    values = []
    for k in range(count):
        word = hashlib.sha256(f"cartpole:{seed}:{k}".encode()).digest()[:8]
        values.append(int.from_bytes(word, "big") / 2**64)
    return low + (high - low) * np.array(values)


class CartPole:
    name = "cartpole"
    observation_size = 4
    actions = (0, 1)

    def __init__(self, max_steps: int = 500, force: float = 10.0, tau: float = 0.02,
                 start_noise: float = 0.05):
        self.max_steps = int(max_steps)
        self.force = float(force)
        self.tau = float(tau)
        self.start_noise = float(start_noise)
        self.state = np.zeros(4)
        self.steps = 0
        self.done = True

    def reset(self, seed: int) -> list[float]:
        self.state = seeded_uniform(seed, 4, -self.start_noise, self.start_noise)
        self.steps = 0
        self.done = False
        return self.state.tolist()

    def step(self, action: int) -> tuple[list[float], float, bool]:
        """Apply ``action``; return (observation, reward, done)."""
        if self.done:
            raise RuntimeError("episode is over; call reset()")
        if action not in self.actions:
            raise ValueError(f"action must be one of {self.actions}, not {action!r}")
        x, x_dot, theta, theta_dot = self.state
        push = self.force if action == 1 else -self.force
        cos, sin = math.cos(theta), math.sin(theta)
        total_mass = CART_MASS + POLE_MASS
        pole_moment = POLE_MASS * POLE_HALF_LENGTH
        temp = (push + pole_moment * theta_dot**2 * sin) / total_mass
        theta_acc = (GRAVITY * sin - cos * temp) / (
            POLE_HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos**2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        self.state = np.array([
            x + self.tau * x_dot,
            x_dot + self.tau * x_acc,
            theta + self.tau * theta_dot,
            theta_dot + self.tau * theta_acc,
        ])
        self.steps += 1
        fallen = abs(self.state[2]) > THETA_LIMIT or abs(self.state[0]) > X_LIMIT
        self.done = bool(fallen or self.steps >= self.max_steps)
        return self.state.tolist(), 1.0, self.done


def run_episode(env: CartPole, policy, seed: int) -> float:
    """The return of ``policy`` (a function observation -> action) on one seeded episode, in-process.

    For local experiments only: the platform runs submitted policies in a
    separate process (see the challenge's description).
    """
    observation, total, done = env.reset(seed), 0.0, False
    while not done:
        observation, reward, done = env.step(policy(observation))
        total += reward
    return total
