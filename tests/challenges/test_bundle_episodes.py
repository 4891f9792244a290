"""Reinforcement-learning challenges: the environment, and policies played over the pipe protocol."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from heldout.challenges.environments import ENVIRONMENTS, make_environment
from heldout.challenges.environments.cartpole import CartPole, run_episode
from heldout.challenges.episodes import connect_fifos, evaluate_policy, run_episodes, run_episodes_over
from heldout.challenges.errors import SubmissionError
from heldout.challenges.policy_host import serve
from heldout.challenges.spec import ScoringSpec

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


# -- over named pipes (the evaluator and the policy in different sandboxes) --------------------------------


def fifos(tmp_path: Path) -> tuple[Path, Path]:
    to_policy, from_policy = tmp_path / "to_policy", tmp_path / "from_policy"
    os.mkfifo(to_policy)
    os.mkfifo(from_policy)
    return to_policy, from_policy


def host_over_fifos(tmp_path: Path, source: str, to_policy: Path, from_policy: Path, *extra: str):
    argv = policy(tmp_path, source)
    return subprocess.Popen([*argv[:-1], "--input", str(to_policy), "--output", str(from_policy), *extra, argv[-1]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def play_over_fifos(tmp_path, source, seeds=(1, 2, 3), max_steps=50, **options):
    to_policy, from_policy = fifos(tmp_path)
    host = host_over_fifos(tmp_path, source, to_policy, from_policy)
    try:
        answers, observations = connect_fifos(to_policy, from_policy, timeout_s=10)
        try:
            return run_episodes_over(answers, observations, CartPole(max_steps=max_steps), list(seeds), **options)
        finally:
            os.close(observations)
            os.close(answers)
    finally:
        host.wait(timeout=10)
        host.stdout.close()
        host.stderr.close()


def test_returns_over_named_pipes_match_the_in_process_returns(tmp_path):
    returns = play_over_fifos(tmp_path, LEANING, max_steps=200)
    env = CartPole(max_steps=200)
    assert returns == [run_episode(env, lambda o: int(o[2] > 0), s) for s in (1, 2, 3)]


@pytest.mark.parametrize("source, words", [
    ("def act(o):\n    return 2\n", "policy answered action 2 at episode 0 step 0; valid actions: 0, 1"),
    ("import sys\ndef act(o):\n    sys.exit(0)\n", "policy exited at episode 0 step 0"),
    ("raise ImportError('no such module: torch')\n", "policy exited while starting"),
])
def test_a_broken_policy_over_named_pipes_fails_with_a_message(tmp_path, source, words):
    with pytest.raises(SubmissionError) as caught:
        play_over_fifos(tmp_path, source)
    assert str(caught.value) == words  # no stderr tail here: the platform shows the policy's logs instead


def test_connecting_gives_up_when_no_policy_opens_its_end(tmp_path):
    to_policy, from_policy = fifos(tmp_path)
    started = time.monotonic()
    with pytest.raises(SubmissionError, match=r"did not start within 0.2 s"):
        connect_fifos(to_policy, from_policy, timeout_s=0.2)
    assert time.monotonic() - started < 2


def test_connecting_refuses_what_is_not_a_named_pipe(tmp_path):
    to_policy, from_policy = tmp_path / "to_policy", tmp_path / "from_policy"
    to_policy.write_text("")
    from_policy.write_text("")
    with pytest.raises(ValueError, match="not a named pipe"):
        connect_fifos(to_policy, from_policy, timeout_s=0.2)


def test_the_host_stops_as_soon_as_the_evaluator_hangs_up_even_inside_act(tmp_path):
    source = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\n" \
             "def act(o):\n    time.sleep(60)\n"
    to_policy, from_policy = fifos(tmp_path)
    host = host_over_fifos(tmp_path, source, to_policy, from_policy)
    answers, observations = connect_fifos(to_policy, from_policy, timeout_s=10)
    with pytest.raises(SubmissionError, match="did not answer within 0.2 s"):
        run_episodes_over(answers, observations, CartPole(), [1], step_timeout_s=0.2)
    os.close(observations)
    os.close(answers)
    started = time.monotonic()
    host.wait(timeout=10)
    assert time.monotonic() - started < 2
    host.stdout.close()
    host.stderr.close()


def test_the_host_gives_up_when_no_evaluator_comes(tmp_path):
    to_policy, from_policy = fifos(tmp_path)
    host = host_over_fifos(tmp_path, LEANING, to_policy, from_policy, "--connect-timeout", "0.2")
    _, err = host.communicate(timeout=10)
    assert host.returncode != 0 and b"cannot open" in err


def test_a_policy_that_never_reads_cannot_hang_the_evaluator(tmp_path):
    # It answers without reading: the observations fill the pipe, and a blocking write would wait for good.
    script = tmp_path / "deaf.py"
    script.write_text("import os\nos.write(1, b'{\"ready\": true}\\n')\nwhile True:\n"
                      "    os.write(1, b'{\"action\": 0}\\n' * 1000)\n")
    with pytest.raises(SubmissionError, match="did not read its observation within 0.3 s"):
        run_episodes(CartPole(), [sys.executable, str(script)], list(range(100000)), step_timeout_s=0.3)


# -- the evaluator's entry point ------------------------------------------------------------------------------

def evaluate(tmp_path: Path, source: str, environment: dict | None = None) -> tuple[int, dict]:
    """Run ``python -m heldout.challenges.evaluate`` against a policy host, both as local processes."""
    ScoringSpec(metric="mean_episode_return", task_type="reinforcement", id_column="episode", id_dtype="int",
                target_columns=["return"]).write(tmp_path / "spec.json")
    (tmp_path / "solution.csv").write_text("episode,seed,Usage\n0,5,Public\n1,6,Private\n2,7,Private\n")
    (tmp_path / "env.json").write_text(json.dumps(environment or {"name": "cartpole", "params": {"max_steps": 40}}))
    to_policy, from_policy = fifos(tmp_path)
    host = host_over_fifos(tmp_path, source, to_policy, from_policy, "--connect-timeout", "5")
    done = subprocess.run([sys.executable, "-m", "heldout.challenges.evaluate", "--spec", str(tmp_path / "spec.json"),
                           "--solution", str(tmp_path / "solution.csv"), "--environment", str(tmp_path / "env.json"),
                           "--to-policy", str(to_policy), "--from-policy", str(from_policy),
                           "--out", str(tmp_path / "out.json"), "--startup-timeout", "5"],
                          capture_output=True, text=True, timeout=60)
    host.communicate(timeout=10)
    return done.returncode, json.loads((tmp_path / "out.json").read_text())


def test_the_evaluator_scores_the_returns_of_the_public_and_private_episodes(tmp_path):
    code, result = evaluate(tmp_path, BALANCING)
    assert code == 0 and result["ok"] is True
    assert (result["public_score"], result["private_score"]) == (40.0, 40.0)
    assert (result["public_rows"], result["private_rows"]) == (1, 2)


def test_the_evaluator_blames_a_policy_that_breaks_the_protocol(tmp_path):
    code, result = evaluate(tmp_path, "def act(o):\n    return 5\n")
    assert code == 2 and result["ok"] is False
    assert result["error"]["text"] == "policy answered action 5 at episode 0 step 0; valid actions: 0, 1"


def test_the_evaluator_keeps_its_own_failures_internal(tmp_path):
    code, result = evaluate(tmp_path, BALANCING, environment={"name": "pong"})
    assert code == 1 and result == {"ok": False, "internal": True}


def test_policy_host_wants_both_pipes_or_neither(tmp_path):
    argv = policy(tmp_path, LEANING)
    done = subprocess.run([*argv[:-1], "--input", str(tmp_path / "x"), argv[-1]], capture_output=True, timeout=30)
    assert done.returncode == 2 and b"both --input and --output" in done.stderr
