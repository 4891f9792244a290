"""Stand-ins for the sandbox, for tests of the job logic that need no container."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from heldout.runner.sandbox.base import RunRequest, RunResult, SandboxUnavailable


@dataclass
class ScriptedSandbox:
    """Answers each run with the next scripted (exit_code, score.json payload); records the requests."""

    script: list = field(default_factory=list)
    name: str = "scripted"
    requests: list = field(default_factory=list)
    unavailable: str | None = None

    def check(self) -> None:
        if self.unavailable:
            raise SandboxUnavailable(self.unavailable)

    def run(self, request: RunRequest) -> RunResult:
        self.check()
        self.requests.append(request)
        exit_code, payload, *rest = self.script.pop(0) if self.script else (0, _scored(0.5, 0.6))
        if payload is not None and request.output_dir is not None:
            (request.output_dir / "score.json").write_text(json.dumps(payload))
        limit = rest[0] if rest else None
        return RunResult(exit_code=exit_code, stdout="", stderr="boom" if exit_code == 1 else "",
                         duration_s=0.01, limit_hit=limit)


def _scored(public: float, private: float) -> dict:
    return {"ok": True, "public_score": public, "private_score": private, "public_ci": [public - 0.1, public + 0.1],
            "private_ci": [private - 0.2, private + 0.2], "public_rows": 10, "private_rows": 10}


def scored(public: float, private: float | None = None) -> tuple:
    return (0, _scored(public, private if private is not None else public))


def rejected(message: str, column: str | None = None, rows: list[int] | None = None) -> tuple:
    return (2, {"ok": False, "error": {"message": message, "column": column, "rows": rows or [],
                                       "text": f"{message} (column '{column}')"}})


def scripted_context(settings, sessions, redis):  # noqa: ANN001, ANN201
    """A runner context whose sandbox is a ScriptedSandbox, with the factories' challenge's solution in storage."""
    from heldout.runner.context import RunnerContext

    ctx = RunnerContext.from_settings(settings, redis=redis)
    ctx.sessions = sessions
    ctx.sandbox = ScriptedSandbox()
    solution = ctx.storage.local_path("challenges/x/solution.csv")
    solution.parent.mkdir(parents=True, exist_ok=True)
    solution.write_text("id,y,Usage\n")
    return ctx
