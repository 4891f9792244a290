"""What the sandbox backend is and whether it answers, for /healthz and start-up checks."""

from __future__ import annotations

from heldout.config import Settings


def describe_sandbox(settings: Settings) -> dict:
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.runtimes import RuntimeSplit, runtime_of, sandbox_for

    try:
        sandbox = sandbox_for(settings)
        sandbox.check()
    except SandboxUnavailable as exc:
        return {"ok": False, "backend": settings.sandbox, "error": str(exc)}
    info = {"ok": True, "backend": sandbox.name}
    image = getattr(sandbox, "image", None)
    if image:
        info["image"] = image
    participant, scorer = ((sandbox.participant, sandbox.scorer) if isinstance(sandbox, RuntimeSplit)
                           else (sandbox, sandbox))
    if sandbox.name == "docker":
        info["runtimes"] = {"participant": runtime_of(participant) or "runc", "scorer": runtime_of(scorer) or "runc"}
    if sandbox.name != "docker":
        info["note"] = "no Docker engine reachable: scoring runs under bubblewrap, with fewer limits"
    return info
