"""The trusted evaluator of a reinforcement-learning submission, inside its own sandbox.

    python -m heldout.challenges.evaluate --spec SPEC.json --solution SOLUTION.csv --environment ENV.json \\
        --to-policy FIFO --from-policy FIFO --out OUT.json [--startup-timeout 60]

The policy runs in another sandbox (``python -m heldout.challenges.policy_host
--input TO_POLICY --output FROM_POLICY policy.py``); the two meet only through
the named pipes. This process owns the environment (ENV.json: ``{"name",
"params", "step_timeout_s"}``), the seeds (SOLUTION.csv: one row per episode
with its ``seed`` and ``Usage``) and the returns; it never runs the
participant's code. It plays every episode, then scores the returns like any
submission (``mean_episode_return`` over the Public and the Private episodes).

Exit status and OUT, the same contract as ``python -m heldout.challenges score``:

* 0: ``{"ok": true, "public_score", "private_score", "public_ci", "public_rows",
  "private_rows", "ci_resamples", "timings"}``;
* 2: the policy broke the protocol (did not start, late, invalid action,
  exited): ``{"ok": false, "error": SubmissionError.to_dict()}``;
* 1: anything else (a bug, an unreadable spec, environment or solution):
  ``{"ok": false, "internal": true}``, details on stderr only, since they may
  quote the solution.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time

from .environments import make_environment
from .episodes import connect_fifos, read_episodes, run_episodes_over, write_returns
from .errors import SubmissionError
from .scoring import score_files
from .spec import ScoringSpec

from .result_file import EXIT_INTERNAL, EXIT_OK, EXIT_SUBMISSION, report  # noqa: E402,F401
STARTUP_TIMEOUT_S = 60.0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit 2, which means "the policy is wrong"
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m heldout.challenges.evaluate",
                     description="Play a policy over the solution's seeded episodes and score it.")
    parser.add_argument("--spec", required=True, help="scoring spec JSON")
    parser.add_argument("--solution", required=True, help="solution CSV: episode id, seed, Usage")
    parser.add_argument("--environment", required=True, help='JSON {"name", "params", "step_timeout_s"}')
    parser.add_argument("--to-policy", required=True, help="named pipe the observations are written to")
    parser.add_argument("--from-policy", required=True, help="named pipe the policy's answers are read from")
    parser.add_argument("--out", required=True, help="result JSON")
    parser.add_argument("--startup-timeout", type=float, default=STARTUP_TIMEOUT_S,
                        help="seconds for the policy to connect, and again to load and say it is ready")
    return parser


class _PolicyFault(Exception):
    """A SubmissionError raised while playing: the policy's fault, unlike one raised while scoring."""


def _evaluate(args) -> dict:
    timings = {}
    started = time.perf_counter()
    # Connect first: if anything below fails, closing our ends tells the policy to stop at once.
    try:
        answers, observations = connect_fifos(args.to_policy, args.from_policy, args.startup_timeout)
    except SubmissionError as exc:
        raise _PolicyFault(exc) from None
    try:
        spec = ScoringSpec.read(args.spec)
        with open(args.environment, encoding="utf-8") as fh:
            environment = json.load(fh)
        env = make_environment(environment["name"], environment.get("params") or {})
        step_timeout_s = float(environment.get("step_timeout_s") or 1.0)
        episodes = read_episodes(args.solution, spec.id_column)
        try:
            returns = run_episodes_over(answers, observations, env, [seed for _, seed in episodes],
                                        step_timeout_s=step_timeout_s, startup_timeout_s=args.startup_timeout)
        except SubmissionError as exc:
            raise _PolicyFault(exc) from None
    finally:
        os.close(observations)
        os.close(answers)
    timings["play_s"] = round(time.perf_counter() - started, 6)
    started = time.perf_counter()
    text = io.StringIO()
    write_returns(text, [episode_id for episode_id, _ in episodes], returns, id_column=spec.id_column,
                  return_column=spec.target_columns[0])
    # A problem scoring our own returns file is a bug here, never the policy's fault: it stays internal.
    result = score_files(io.BytesIO(text.getvalue().encode()), args.solution, spec)
    timings["score_s"] = round(time.perf_counter() - started, 6)
    return {"ok": True, **result.to_dict(), "timings": timings}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Only faults of the policy are the participant's: a SubmissionError from scoring our own returns is ours.
    return report(lambda: _evaluate(args), args.out, prog="heldout.challenges.evaluate",
                  participant_fault=lambda exc: exc.args[0] if isinstance(exc, _PolicyFault) else None)


if __name__ == "__main__":
    sys.exit(main())
