"""The scorer's entry point inside the sandbox.

    python -m heldout.challenges score --spec SPEC.json --submission FILE --solution SOLUTION.csv --out OUT.json
    python -m heldout.challenges check --spec SPEC.json --submission FILE [--solution SOLUTION.csv] [--out OUT.json]

Exit status and OUT (stdout when ``--out`` is omitted):

* 0: ``{"ok": true, "public_score", "private_score", "public_ci", "private_ci", "public_rows",
  "private_rows", "ci_resamples", "timings"}`` (``check``: ``{"ok": true,
  "rows", "timings"}``). A score is ``null`` only when its split has no rows.
* 2: the participant's file is wrong: ``{"ok": false, "error": SubmissionError.to_dict()}``.
* 1: anything else (a bug, an unreadable solution or spec, a score undefined
  on a whole split): ``{"ok": false, "internal": true}``, details and
  traceback on stderr only, since they may quote the solution.

``timings.import_s`` is the time to import the scorer (NumPy included),
interpreter start-up excluded.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import sys  # noqa: E402
from functools import lru_cache  # noqa: E402

from .errors import SubmissionError  # noqa: E402
from .result_file import EXIT_INTERNAL, EXIT_OK, EXIT_SUBMISSION, report  # noqa: E402,F401
from .scoring import score_submission  # noqa: E402
from .spec import ScoringSpec  # noqa: E402
from .validation import read_solution, read_submission  # noqa: E402

_IMPORT_S = time.perf_counter() - _STARTED




class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit 2, which means "the learner's file is wrong"
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


@lru_cache(maxsize=1)  # a warm scorer's children share the one its server built (runner/sandbox/_warm_server.py)
def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m heldout.challenges", description="Check or score a submission.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    score = commands.add_parser("score", help="validate and score a submission")
    check = commands.add_parser("check", help="validate a submission without scoring it")
    for sub, needs_solution in ((score, True), (check, False)):
        sub.add_argument("--spec", required=True, help="scoring spec JSON")
        sub.add_argument("--submission", required=True, help="the participant's CSV (may be gzip-compressed)")
        sub.add_argument("--solution", required=needs_solution, help="solution CSV with ids, Usage and truth")
        sub.add_argument("--out", help="result JSON (default: stdout)")
    return parser


def _run(args, solution_reader) -> dict:  # noqa: ANN001
    timings = {"import_s": round(_IMPORT_S, 6)}
    started = time.perf_counter()
    spec = ScoringSpec.read(args.spec)
    solution = solution_reader(args.solution, spec) if args.solution else None
    submission = read_submission(args.submission, spec, solution.ids if solution else None)
    timings["read_s"] = round(time.perf_counter() - started, 6)
    if args.command == "check":
        return {"ok": True, "rows": len(submission), "timings": timings}
    started = time.perf_counter()
    assert solution is not None  # argparse requires --solution for score
    result = score_submission(submission, solution, spec)
    timings["score_s"] = round(time.perf_counter() - started, 6)
    return {"ok": True, **result.to_dict(), "timings": timings}


def main(argv: list[str] | None = None, *, solution_reader=read_solution) -> int:  # noqa: ANN001
    """``solution_reader``: how the solution is read (the warm scorer's children get one already read:
    heldout.challenges.solution_cache)."""
    args = _parser().parse_args(argv)
    return report(lambda: _run(args, solution_reader), args.out, prog="heldout.challenges",
                  participant_fault=lambda exc: exc if isinstance(exc, SubmissionError) else None)


if __name__ == "__main__":
    sys.exit(main())
