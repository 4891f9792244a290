"""Sandboxes that run scoring and learners' code under hard limits.

    sb = get_sandbox()            # docker if the daemon answers and the image exists, else bubblewrap
    res = sb.run(RunRequest(argv=[...], mounts=[Mount(src, "/input")], limits=Limits(timeout_s=30),
                            output_dir=out_dir))
    score = read_json_result(out_dir / "score.json")

Nothing here touches Docker at import time; the runner never imports Flask or
the platform.
"""

from __future__ import annotations

from .base import (
    LIMIT_MESSAGES,
    Limits,
    Mount,
    RunRequest,
    RunResult,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    read_json_result,
)

__all__ = [
    "LIMIT_MESSAGES", "Limits", "Mount", "RunRequest", "RunResult", "Sandbox", "SandboxError",
    "SandboxUnavailable", "read_json_result", "get_sandbox", "cleanup_leftovers",
]

KINDS = ("auto", "docker", "docker-pool", "bubblewrap")


def get_sandbox(kind: str = "auto", *, image: str | None = None, pool_size: int | None = None,
                runtime: str | None = None) -> Sandbox:
    """Return a checked, working sandbox.

    ``kind``: ``"docker"``, ``"bubblewrap"`` or ``"auto"`` (Docker when its
    daemon answers and the image exists, else bubblewrap when ``bwrap`` works,
    else SandboxUnavailable naming both reasons). ``image`` defaults to the
    content-hash tag of this source tree. ``pool_size > 0`` (Docker only;
    default 0; the worker passes Settings.sandbox_pool_size) wraps the backend in a
    :class:`~.pool.PrestartedPool` of that many prestarted containers. ``runtime`` names the Docker runtime
    of its containers (``runsc``; None, the daemon's default); the check fails when the daemon lacks it.
    ``runtimes.sandbox_for(settings)`` is how the platform calls this.
    """
    pool_size = pool_size or 0
    if kind not in KINDS:
        raise ValueError(f"unknown sandbox kind {kind!r}; expected one of {', '.join(KINDS)}")
    if runtime and kind == "auto":
        kind = "docker"  # a runtime named means Docker: falling back to bubblewrap would quietly drop it
    errors = []
    if kind in ("auto", "docker", "docker-pool"):
        from .docker_backend import DockerSandbox

        sb = DockerSandbox(image=image, runtime=runtime)
        try:
            sb.check()
        except SandboxUnavailable as exc:
            if kind != "auto":
                raise
            errors.append(f"docker: {exc}")
        else:
            if pool_size > 0 or kind == "docker-pool":
                from .pool import PrestartedPool

                return PrestartedPool(sb, size=pool_size or 2)
            return sb
    from .bubblewrap_backend import BubblewrapSandbox

    bw = BubblewrapSandbox()
    try:
        bw.check()
    except SandboxUnavailable as exc:
        if kind != "auto":
            raise
        errors.append(f"bubblewrap: {exc}")
        # Each backend's message ends with its own remedy; this joins them, adding none.
        raise SandboxUnavailable("no sandbox available: " + "; ".join(errors)) from None
    return bw


def cleanup_leftovers(max_age_s: float = 0.0, *, running_max_age_s: float = 4 * 3600.0) -> int:
    """Remove leftover ``heldout.sandbox`` containers (worker start-up); see docker_backend."""
    from .docker_backend import cleanup_leftovers as _cleanup

    return _cleanup(max_age_s, running_max_age_s=running_max_age_s)
