"""The compose test's phase timings, printed at the end of the run (they are figures, never pass/fail)."""

from __future__ import annotations

TIMINGS: list[tuple[str, float]] = []


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if TIMINGS:
        total = sum(seconds for _, seconds in TIMINGS)
        terminalreporter.write_sep("-", f"docker compose stack: {total:.0f} s")
        for phase, seconds in TIMINGS:
            terminalreporter.write_line(f"  {seconds:6.1f} s  {phase}")
