"""The result file every sandboxed scorer writes, and its exit codes.

Exit 0: ``{"ok": true, ...scores}``. Exit 2: the participant's fault,
``{"ok": false, "error": SubmissionError.to_dict()}``. Exit 1: ours; the file
says only ``{"ok": false, "internal": true}`` and the details go to stderr,
because they may quote the solution.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Callable

from .errors import SubmissionError

EXIT_OK, EXIT_INTERNAL, EXIT_SUBMISSION = 0, 1, 2


def write_result(payload: dict, out: str | None) -> None:
    text = json.dumps(payload, allow_nan=False)  # NaN is not JSON: better to fail here than downstream
    if out is None:
        print(text)
    else:
        with open(out, "w", encoding="utf-8") as stream:
            stream.write(text)


def report(produce: Callable[[], dict], out: str | None, *, prog: str,
           participant_fault: Callable[[BaseException], SubmissionError | None]) -> int:
    """Run ``produce`` and write what it returns, or the error; returns the exit code."""
    try:
        write_result(produce(), out)
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - every failure must end as a result file and an exit code
        fault = participant_fault(exc)
        if fault is not None:
            write_result({"ok": False, "error": fault.to_dict()}, out)
            return EXIT_SUBMISSION
        traceback.print_exc()
        print(f"{prog}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        try:
            write_result({"ok": False, "internal": True}, out)
        except Exception:  # noqa: BLE001 - the exit code still tells the worker
            pass
        return EXIT_INTERNAL
