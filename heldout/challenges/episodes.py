"""The trusted side of a reinforcement-learning challenge: run a policy over seeded episodes.

The learner's policy never runs in this process. It is a separate program
(usually ``python -m heldout.challenges.policy_host policy.py``) that talks
JSON lines with this one:

    policy    -> evaluator   {"ready": true}                 once, after it has loaded
    evaluator -> policy      {"episode": 0, "step": 0, "observation": [...]}
    policy    -> evaluator   {"action": 1}                   one answer per observation

The environment, the episode seeds and the returns stay here, so the only
thing a policy can influence is the actions it sends: it cannot read the seeds,
reset an episode or report its own score. Every answer must arrive within the
per-step timeout; a late, malformed or invalid answer, or a policy that exits
early, fails the submission with a :class:`SubmissionError` saying where.

Two ways to reach the policy, one protocol driver:

* :func:`run_episodes` starts the policy as a child process and talks over its
  stdin/stdout (tests, local runs);
* :func:`connect_fifos` + :func:`run_episodes_over` talk over two named pipes
  shared with a policy running elsewhere, e.g. in another sandbox (the
  platform: see ``heldout.challenges.evaluate``).

Every read and every write has a deadline, so no policy (silent, stuck, or
one that stops reading) can hold the evaluator beyond its timeouts.

Standard library and the environments only: this may run inside the sandbox.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import select
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence, cast

from .environments import make_environment
from .errors import SubmissionError

MAX_LINE_BYTES = 64 * 1024
STDERR_TAIL_BYTES = 4000
CONNECT_POLL_S = 0.02


class _LineReader:
    """Lines from a pipe with a deadline per line (a buffered readline could block forever)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def readline(self, timeout_s: float) -> bytes | None:
        """One line without its newline; None at end of stream; TimeoutError when late."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE_BYTES:
                raise ValueError(f"answer longer than {MAX_LINE_BYTES} bytes")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                raise TimeoutError
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:  # a non-blocking FIFO end can wake up without data
                continue
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def _write_all(fd: int, data: bytes, timeout_s: float) -> None:
    """Write ``data`` to a non-blocking pipe; TimeoutError if the reader does not make room in time.

    A blocking write would hang for good on a policy that answers without
    ever reading its observations: the pipe fills up and stays full.
    """
    deadline = time.monotonic() + timeout_s
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
            continue
        except BlockingIOError:
            pass
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([], [fd], [], left)[1]:
            raise TimeoutError


class _Conversation:
    """The protocol spoken with a policy over two pipe ends (its answers, its observations)."""

    def __init__(self, answers_fd: int, observations_fd: int):
        self.reader = _LineReader(answers_fd)
        self.observations_fd = observations_fd
        os.set_blocking(observations_fd, False)

    # What a failure message can add about the policy; a child process knows more than a FIFO.
    def postscript(self) -> str:
        return ""

    def exit_code(self) -> int | None:
        return None

    def fail(self, message: str, *, quotes_input: bool = True) -> SubmissionError:
        """``quotes_input=False``: the message says only what went wrong where, nothing the policy sent."""
        postscript = self.postscript()
        return SubmissionError(message + postscript, quotes_input=quotes_input or bool(postscript))

    def receive(self, timeout_s: float, where: str) -> dict:
        try:
            line = self.reader.readline(timeout_s)
        except TimeoutError:
            raise self.fail(f"policy did not answer within {timeout_s:g} s {where}", quotes_input=False) from None
        except ValueError as exc:
            raise self.fail(f"policy sent an invalid answer {where}: {exc}", quotes_input=False) from None
        if line is None:
            code = self.exit_code()
            raise self.fail(f"policy exited {where}" + (f" with code {code}" if code is not None else ""),
                            quotes_input=False)
        try:
            message = json.loads(line)
        except ValueError:
            raise self.fail(f"policy sent something that is not JSON {where}: {line[:200]!r}") from None
        if not isinstance(message, dict):
            raise self.fail(f"policy sent {line[:200]!r} {where}; expected a JSON object")
        return message

    def send(self, message: dict, timeout_s: float, where: str) -> None:
        try:
            _write_all(self.observations_fd, (json.dumps(message) + "\n").encode(), timeout_s)
        except TimeoutError:
            raise self.fail(f"policy did not read its observation within {timeout_s:g} s {where}",
                            quotes_input=False) from None
        except OSError:  # EPIPE: nobody reads any more
            raise self.fail(f"policy stopped reading {where}", quotes_input=False) from None


class _ChildProcess(_Conversation):
    """A policy started here as a child process, over its stdin/stdout."""

    def __init__(self, argv: list[str], cwd: str | None, env: dict | None):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     cwd=cwd, env=env, bufsize=0)
        # Made with stdin and stdout pipes: neither is None.
        super().__init__(self.proc.stdout.fileno(), self.proc.stdin.fileno())  # type: ignore[union-attr]

    def postscript(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - STDERR_TAIL_BYTES))
        tail = self.stderr.read().decode("utf-8", "replace").strip()
        return f"\n--- policy stderr (last lines) ---\n{tail}" if tail else ""

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def close(self, graceful: bool) -> None:
        """End the process: let a policy that played to the end exit by itself; kill a failed one."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2 if graceful else 0.05)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.stderr.close()


def _action(message: dict, actions: Sequence, where: str, policy: _Conversation) -> int:
    action = message.get("action")
    # bool is an int in Python; true/false are not actions.
    if isinstance(action, bool) or action not in actions:
        raise policy.fail(f"policy answered action {action!r} {where}; valid actions: "
                          f"{', '.join(map(str, actions))}")
    return cast(int, action)


def _play(policy: _Conversation, env, seeds: Sequence[int], step_timeout_s: float,
          startup_timeout_s: float) -> list[float]:
    hello = policy.receive(startup_timeout_s, "while starting")
    if hello.get("ready") is not True:
        raise policy.fail(f'policy must first send {{"ready": true}}, sent {hello!r}')
    returns = []
    for episode, seed in enumerate(seeds):
        observation, total, done, step = env.reset(int(seed)), 0.0, False, 0
        while not done:
            where = f"at episode {episode} step {step}"
            policy.send({"episode": episode, "step": step, "observation": observation}, step_timeout_s, where)
            action = _action(policy.receive(step_timeout_s, where), env.actions, where, policy)
            observation, reward, done = env.step(action)
            total += reward
            step += 1
        returns.append(total)
    return returns


def run_episodes(env, policy_argv: list[str], seeds: Sequence[int], *, step_timeout_s: float = 1.0,
                 startup_timeout_s: float = 60.0, cwd: str | Path | None = None,
                 env_vars: dict | None = None) -> list[float]:
    """The return of each seeded episode, in order, played by the policy program ``policy_argv``.

    ``env`` is an environment instance (see ``heldout.challenges.environments``).
    Loading the policy may take up to ``startup_timeout_s``; each action then
    has ``step_timeout_s``. Raises :class:`SubmissionError` when the policy
    breaks the protocol.
    """
    policy = _ChildProcess(list(policy_argv), str(cwd) if cwd is not None else None, env_vars)
    finished = False
    try:
        returns = _play(policy, env, seeds, step_timeout_s, startup_timeout_s)
        finished = True
        return returns
    finally:
        policy.close(graceful=finished)


def connect_fifos(to_policy: str | Path, from_policy: str | Path, timeout_s: float) -> tuple[int, int]:
    """Open the evaluator's ends of two named pipes: ``(answers_fd, observations_fd)``.

    ``from_policy`` is opened for reading and ``to_policy`` for writing, both
    non-blocking: a plain open of a FIFO waits until the other side opens it,
    and a policy that never starts would keep the evaluator waiting for good.
    Raises :class:`SubmissionError` if no policy has opened ``to_policy``
    within ``timeout_s``, or if the policy exited before that (it may crash
    faster than we poll). The caller closes both descriptors.
    """
    answers = os.open(from_policy, os.O_RDONLY | os.O_NONBLOCK)  # a reader never waits for a writer
    try:
        _require_fifo(answers, from_policy)
        # POLLHUP on our read end: a policy has opened its end of from_policy and closed it again.
        hang_up = select.poll()
        hang_up.register(answers, select.POLLIN)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                observations = os.open(to_policy, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: nobody has the FIFO open for reading yet
                    raise
            if any(event & select.POLLHUP for _, event in hang_up.poll(0)):
                raise SubmissionError("policy exited while starting", quotes_input=False)
            if time.monotonic() >= deadline:
                raise SubmissionError(f"the policy did not start within {timeout_s:g} s "
                                      "(it never opened its end of the pipe)", quotes_input=False)
            time.sleep(CONNECT_POLL_S)
    except BaseException:
        os.close(answers)
        raise
    try:
        _require_fifo(observations, to_policy)
    except BaseException:
        os.close(observations)
        os.close(answers)
        raise
    return answers, observations


def _require_fifo(fd: int, path) -> None:
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        raise ValueError(f"{path} is not a named pipe")


def run_episodes_over(answers_fd: int, observations_fd: int, env, seeds: Sequence[int], *,
                      step_timeout_s: float = 1.0, startup_timeout_s: float = 60.0) -> list[float]:
    """:func:`run_episodes` with a policy already connected through two pipe ends (see :func:`connect_fifos`).

    ``answers_fd`` is read for the policy's messages and ``observations_fd``
    written with the observations (it is made non-blocking). The caller owns
    and closes both; closing them is what tells the policy to stop.
    """
    return _play(_Conversation(answers_fd, observations_fd), env, seeds, step_timeout_s, startup_timeout_s)


def read_episodes(solution_path: str | Path, id_column: str = "episode") -> list[tuple[str, int]]:
    """``(episode id, seed)`` of every row of a reinforcement challenge's solution, in file order."""
    with open(solution_path, newline="", encoding="utf-8") as fh:
        return [(row[id_column], int(row["seed"])) for row in csv.DictReader(fh)]


def write_returns(stream, episode_ids: Sequence[str], returns: Sequence[float], *, id_column: str = "episode",
                  return_column: str = "return") -> None:
    """Write ``<id>,<return>`` rows (a submission file for the scorer) to a text stream."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([id_column, return_column])
    for episode_id, value in zip(episode_ids, returns):
        writer.writerow([episode_id, repr(float(value))])


def evaluate_policy(environment: str, params: dict, solution_path: str | Path, policy_argv: list[str],
                    out_path: str | Path, *, id_column: str = "episode", return_column: str = "return",
                    **options) -> Path:
    """Play every episode listed in the solution and write ``<id>,return`` rows to ``out_path``.

    The solution lists one episode per row with its (hidden) ``seed``; the file
    written is an ordinary submission for the scorer, which averages the
    returns of the Public and the Private episodes separately.
    """
    episodes = read_episodes(solution_path, id_column)
    env = make_environment(environment, params)
    returns = run_episodes(env, policy_argv, [seed for _, seed in episodes], **options)
    out_path = Path(out_path)
    with open(out_path, "w", newline="", encoding="utf-8") as fh:
        write_returns(fh, [episode_id for episode_id, _ in episodes], returns, id_column=id_column,
                      return_column=return_column)
    return out_path
