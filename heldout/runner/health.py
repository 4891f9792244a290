"""What the sandbox backend is and whether it answers, for /healthz and start-up checks."""

from __future__ import annotations


def describe_sandbox(kind: str, *, image: str | None = None) -> dict:
    from heldout.runner.sandbox import SandboxUnavailable, get_sandbox

    try:
        sandbox = get_sandbox(kind, image=image)
        sandbox.check()
    except SandboxUnavailable as exc:
        return {"ok": False, "backend": kind, "error": str(exc)}
    info = {"ok": True, "backend": sandbox.name}
    image = getattr(sandbox, "image", None)
    if image:
        info["image"] = image
    if sandbox.name != "docker":
        info["note"] = "no Docker engine reachable: scoring runs under bubblewrap, with fewer limits"
    return info
