"""Which Docker runtime runs whose code: participant code under one, Heldout's scorer under another.

A participant's code (a code submission, an RL policy, a bundle's baseline) is the hostile part: an operator who
takes code from strangers runs it under gVisor (``HELDOUT_SANDBOX_RUNTIME=runsc``), where a kernel bug is no
longer one system call away. The scorer is Heldout's own code over untrusted data and stays on runc unless told
(``HELDOUT_SCORER_RUNTIME``): it imports pandas and scikit-learn, which gVisor's system-call interception slows.
Each request says whose code it runs (``RunRequest.role``); :class:`RuntimeSplit` sends it to the sandbox of
that runtime. With one runtime for both there is no split: one sandbox serves every request.
"""

from __future__ import annotations

from heldout.config import Settings

from .base import SCORER, RunRequest, RunResult, Sandbox, SandboxUnavailable

__all__ = ["RuntimeSplit", "sandbox_for", "describe_runtimes", "runtime_of"]


class RuntimeSplit:
    """Two sandboxes behind one: ``scorer`` runs the scorer's requests, ``participant`` every other."""

    def __init__(self, participant: Sandbox, scorer: Sandbox):
        self.participant = participant
        self.scorer = scorer
        self.name = participant.name
        # What the workers page shows (registry.sandbox_label): the participant code's runtime.
        self.runtime = runtime_of(participant)

    @property
    def image(self) -> str | None:
        return getattr(self.participant, "image", None)

    def check(self) -> None:
        self.participant.check()
        self.scorer.check()

    def run(self, request: RunRequest) -> RunResult:
        return (self.scorer if request.role == SCORER else self.participant).run(request)

    def cleanup_leftovers(self, max_age_s: float = 0.0, **kw) -> int:  # noqa: ANN003
        # Both sandboxes share one daemon and one label: one sweep finds every leftover.
        cleanup = getattr(self.participant, "cleanup_leftovers", None)
        return cleanup(max_age_s, **kw) if cleanup is not None else 0

    def close(self) -> None:
        for sandbox in (self.participant, self.scorer):
            close = getattr(sandbox, "close", None)
            if close is not None:
                close()


def sandbox_for(settings: Settings, *, pool_size: int = 0) -> Sandbox:
    """The checked sandbox ``settings`` ask for: HELDOUT_SANDBOX's backend, with each Docker runtime it names.

    A runtime named means Docker (``auto`` does not fall back to bubblewrap, which would quietly drop gVisor);
    a runtime the daemon does not know raises SandboxUnavailable naming the variable."""
    from . import get_sandbox

    participant_runtime, scorer_runtime = settings.sandbox_runtime, settings.scorer_runtime
    # One runtime named makes both Docker: the scorer must not land in bubblewrap beside a gVisor participant.
    kind = "docker" if settings.sandbox == "auto" and (participant_runtime or scorer_runtime) else settings.sandbox

    def made(runtime: str | None, variable: str) -> Sandbox:
        try:
            return get_sandbox(kind, image=settings.sandbox_image, pool_size=pool_size, runtime=runtime)
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(f"{variable}={runtime}: {exc}" if runtime else str(exc)) from None

    participant = made(participant_runtime, "HELDOUT_SANDBOX_RUNTIME")
    if scorer_runtime == participant_runtime:
        return participant
    try:
        scorer = made(scorer_runtime, "HELDOUT_SCORER_RUNTIME")
    except BaseException:
        close = getattr(participant, "close", None)
        if close is not None:
            close()
        raise
    return RuntimeSplit(participant, scorer)


def describe_runtimes(sandbox: Sandbox) -> str:
    """``docker sandbox``, ``docker sandbox (participant code under runsc, the scorer under runc)``…"""
    if isinstance(sandbox, RuntimeSplit):
        return (f"{sandbox.name} sandbox (participant code under {runtime_of(sandbox.participant) or 'runc'}, "
                f"the scorer under {runtime_of(sandbox.scorer) or 'runc'})")
    runtime = runtime_of(sandbox)
    return f"{sandbox.name} sandbox" + (f" (under {runtime})" if runtime else "")


def runtime_of(sandbox: object) -> str | None:
    """The Docker runtime a sandbox's containers run under; None for the daemon's default (or no Docker)."""
    inner = getattr(sandbox, "backend", sandbox)  # a prestarted pool wraps its DockerSandbox
    runtime = getattr(inner, "runtime", None)
    return runtime if isinstance(runtime, str) and runtime else None
