"""Reinforcement-learning challenges: the environment, and policies played over the pipe protocol."""

from __future__ import annotations

import csv
import sys
import textwrap
from pathlib import Path

import pytest

from heldout.challenges.environments import ENVIRONMENTS, make_environment
from heldout.challenges.environments.cartpole import CartPole, run_episode
from heldout.challenges.episodes import evaluate_policy, run_episodes
from heldout.challenges.errors import SubmissionError
from heldout.challenges.policy_host import serve

BALANCING = "def act(o):\n    return 1 if o[2] + 0.5 * o[3] > 0 else 0\n"
LEANING = "def act(o):\n    return 1 if o[2] > 0 else 0\n"


def policy(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "policy.py"
    path.write_text(textwrap.dedent(source))
    return [sys.executable, "-m", "heldout.challenges.policy_host", str(path)]


def play(tmp_path, source, seeds=(1, 2, 3), max_steps=50, **options):
    return run_episodes(CartPole(max_steps=max_steps), policy(tmp_path, source), list(seeds), **options)


# -- the environment -------------------------------------------------------------------------------

def test_cartpole_is_deterministic_per_seed_and_seeds_differ():
    env = CartPole()
    assert env.reset(3) == env.reset(3)
    assert env.reset(3) != env.reset(4)
    assert all(abs(v) <= 0.05 for v in env.reset(3))


def test_cartpole_start_states_are_pinned():
    # Seeds are drawn by SHA-256: the same on every platform and NumPy version.
    assert CartPole().reset(0) == pytest.approx([0.0379353, 0.0100891, 0.0243778, 0.0372211], abs=1e-7)


def test_cartpole_rewards_and_ends():
    env = CartPole(max_steps=10)
    env.reset(0)
    steps = 0
    done = False
    while not done:
        _, reward, done = env.step(1)
        assert reward == 1.0
        steps += 1
    assert steps <= 10
    with pytest.raises(RuntimeError):
        env.step(1)
    env.reset(0)
    with pytest.raises(ValueError):
        env.step(2)


def test_a_good_policy_beats_a_naive_one_in_process():
    env = CartPole(max_steps=200)
    good = [run_episode(env, lambda o: int(o[2] + 0.5 * o[3] > 0), s) for s in range(5)]
    naive = [run_episode(env, lambda o: int(o[2] > 0), s) for s in range(5)]
    assert min(good) == 200 and max(naive) < 100


def test_environment_registry():
    assert "cartpole" in ENVIRONMENTS
    assert make_environment("cartpole", {"max_steps": 7}).max_steps == 7
    with pytest.raises(KeyError, match="known: cartpole"):
        make_environment("pong")


# -- the protocol -----------------------------------------------------------------------------------

def test_returns_over_the_pipe_match_the_in_process_returns(tmp_path):
    returns = play(tmp_path, LEANING, seeds=(1, 2, 3), max_steps=200)
    env = CartPole(max_steps=200)
    assert returns == [run_episode(env, lambda o: int(o[2] > 0), s) for s in (1, 2, 3)]


def test_prints_and_numpy_actions_do_not_break_the_protocol(tmp_path):
    source = """
        import numpy as np
        calls = []
        def reset():
            calls.append("reset")
        def act(o):
            print("thinking about", o)
            return np.int64(1 if o[2] + 0.5 * o[3] > 0 else 0)
    """
    assert play(tmp_path, source, max_steps=30) == [30.0, 30.0, 30.0]


@pytest.mark.parametrize("source, words", [
    ("def act(o):\n    return 2\n", "valid actions"),
    ("def act(o):\n    return True\n", "valid actions"),
    ("def act(o):\n    return 'left'\n", "valid actions"),
    ("def act(o):\n    raise ValueError('boom')\n", "exited"),
    ("import sys\ndef act(o):\n    sys.exit(0)\n", "exited"),
    ("x = 1\n", "must define act"),
    ("raise ImportError('no such module: torch')\n", "no such module"),
])
def test_broken_policies_fail_with_a_message(tmp_path, source, words):
    with pytest.raises(SubmissionError) as caught:
        play(tmp_path, source)
    assert words in str(caught.value)


def test_a_slow_policy_times_out_on_the_step(tmp_path):
    source = "import time\ndef act(o):\n    time.sleep(5)\n    return 0\n"
    with pytest.raises(SubmissionError, match=r"within 0.2 s at episode 0 step 0"):
        play(tmp_path, source, step_timeout_s=0.2)


def test_a_policy_that_never_starts_times_out(tmp_path):
    source = "import time\ntime.sleep(5)\ndef act(o):\n    return 0\n"
    with pytest.raises(SubmissionError, match="while starting"):
        play(tmp_path, source, startup_timeout_s=0.3)


def test_a_policy_writing_garbage_to_the_real_stdout_fails(tmp_path):
    # A policy bypassing print() and writing to fd 1 directly still reaches stderr, not the protocol.
    source = "import os\ndef act(o):\n    os.write(1, b'{\"action\": 1}\\n')\n    return 0\n"
    returns = play(tmp_path, source, max_steps=20)
    env = CartPole(max_steps=20)
    assert returns == [run_episode(env, lambda o: 0, s) for s in (1, 2, 3)]


def test_a_raw_program_that_lies_cannot_change_its_score(tmp_path):
    # A program speaking the protocol itself can only send actions; extra keys are ignored.
    script = tmp_path / "liar.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            print(json.dumps({"action": 0, "return": 1e9, "done": True}), flush=True)
    """))
    returns = run_episodes(CartPole(max_steps=20), [sys.executable, str(script)], [1, 2])
    env = CartPole(max_steps=20)
    assert returns == [run_episode(env, lambda o: 0, s) for s in (1, 2)]


def test_a_program_that_skips_the_handshake_fails(tmp_path):
    script = tmp_path / "rude.py"
    script.write_text("import json\nprint(json.dumps({'action': 1}), flush=True)\nimport time\ntime.sleep(2)\n")
    with pytest.raises(SubmissionError, match="ready"):
        run_episodes(CartPole(max_steps=5), [sys.executable, str(script)], [1])


def test_policy_host_serve_speaks_json_lines():
    import io
    import types

    module = types.SimpleNamespace(act=lambda o: 1 if o[0] > 0 else 0)
    out = io.StringIO()
    serve(module, io.StringIO('{"episode": 0, "step": 0, "observation": [0.5]}\n\n'
                              '{"episode": 0, "step": 1, "observation": [-0.5]}\n'), out)
    assert out.getvalue().splitlines() == ['{"ready": true}', '{"action": 1}', '{"action": 0}']


def test_evaluate_policy_writes_a_returns_file_for_the_scorer(tmp_path):
    solution = tmp_path / "solution.csv"
    solution.write_text("episode,seed,Usage\n0,5,Public\n1,6,Private\n2,7,Private\n")
    out = evaluate_policy("cartpole", {"max_steps": 40}, solution, policy(tmp_path, BALANCING),
                          tmp_path / "returns.csv")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["episode"] for r in rows] == ["0", "1", "2"]
    assert [float(r["return"]) for r in rows] == [40.0, 40.0, 40.0]
