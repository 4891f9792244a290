"""Settings, read from the environment in one place.

Nothing else in Heldout reads ``os.environ`` (``tools/check_imports.py``
fails if anything does): the app factory, the worker and the CLI all receive a
``Settings``; the sandbox image's build tools, which run without one, read
their few variables through :func:`sandbox_build_env`; the CLI's one secret
input through :func:`new_password`. A malformed value raises ``ConfigError``
with one line that says which variable is wrong and how to fix it.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

SANDBOX_KINDS = ("auto", "docker", "bubblewrap")
SCORER_KINDS = ("warm", "fresh")
STORAGE_KINDS = ("local", "database", "s3")
LOG_FORMATS = ("json", "text")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says how to fix it."""


@dataclass(frozen=True)
class S3Settings:
    """An S3-compatible bucket: ``HELDOUT_S3_*`` and the standard ``AWS_*`` credential variables."""

    bucket: str | None = None
    endpoint_url: str | None = None
    prefix: str = ""
    region: str | None = None
    # None leaves boto3 to find credentials itself (an instance profile, ~/.aws/credentials).
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return (f"S3Settings(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, prefix={self.prefix!r}, "
                f"region={self.region!r}, access_key_id={self.access_key_id!r})")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None = None
    sandbox: str = "auto"
    # Where files live: "local" (HELDOUT_DATA_DIR/files), "database" or "s3" (no shared disk; heldout/storage/).
    storage: str = "local"
    # HELDOUT_STORAGE=s3 (and `heldout storage migrate --to s3`): the bucket, the endpoint, the key prefix.
    s3: S3Settings | None = None
    sandbox_image: str | None = None
    # Docker runtimes (names registered with the daemon, e.g. "runsc" for gVisor): one for participant code (code
    # submissions, RL policies, baselines), one for Heldout's scorer; None is the daemon's default, runc.
    sandbox_runtime: str | None = None
    scorer_runtime: str | None = None
    # Prestarted single-use containers per worker (Docker only): hides container start-up.
    sandbox_pool_size: int = 2
    # Prediction files: "warm" (one long-lived scorer sandbox per worker, a forked child per file; Docker only,
    # heldout/runner/sandbox/warm.py) or "fresh" (a single-use container per file, as code always gets).
    scorer: str = "warm"
    secret_key: str = ""
    production: bool = False
    max_upload_bytes: int = 200 * 1024 * 1024
    # A running submission whose worker has not renewed its lease for this long is re-queued.
    running_deadline_s: int = 60
    # How often each worker rebuilds the queue from the database.
    reconcile_interval_s: int = 30
    # How often each worker tells the database it is alive (the admins' workers page; stale after three misses).
    worker_heartbeat_s: int = 10
    # "json" (one object per line) or "text"; see heldout/logs.py.
    log_format: str = "text"
    # Lets a scraper read /metrics from anywhere with "Authorization: Bearer <token>"; unset, loopback only.
    metrics_token: str | None = None
    # Reverse proxies in front of the web app: their X-Forwarded-For/-Proto are believed for this many hops.
    trusted_proxies: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def embedded_queue(self) -> bool:
        return self.redis_url is None

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "files"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, demo: bool = False) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("HELDOUT_DATA_DIR") or "instance").absolute()
        database_url = env.get("HELDOUT_DATABASE_URL") or f"sqlite:///{data_dir / 'heldout.sqlite3'}"
        if "://" not in database_url:
            raise ConfigError(
                f"HELDOUT_DATABASE_URL={database_url!r} is not a database URL; "
                "use e.g. postgresql+psycopg://user:pass@host/db or sqlite:///path/heldout.sqlite3"
            )
        database_url = _normalise_database_url(database_url)
        redis_url = env.get("HELDOUT_REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"HELDOUT_REDIS_URL={redis_url!r} is not a Redis URL; use e.g. redis://localhost:6379/0, "
                "or leave it unset for the embedded queue"
            )
        sandbox = (env.get("HELDOUT_SANDBOX") or "auto").strip().lower()
        if sandbox not in SANDBOX_KINDS:
            raise ConfigError(f"HELDOUT_SANDBOX={sandbox!r} is not one of {', '.join(SANDBOX_KINDS)}")
        scorer = (env.get("HELDOUT_SCORER") or "warm").strip().lower()
        if scorer not in SCORER_KINDS:
            raise ConfigError(f"HELDOUT_SCORER={env['HELDOUT_SCORER']!r} is not one of {', '.join(SCORER_KINDS)}")
        storage = (env.get("HELDOUT_STORAGE") or "local").strip().lower()
        if storage not in STORAGE_KINDS:
            raise ConfigError(f"HELDOUT_STORAGE={env['HELDOUT_STORAGE']!r} is not one of {', '.join(STORAGE_KINDS)}")
        s3 = _s3_settings(env, required=storage == "s3")
        sandbox_runtime = _runtime(env, "HELDOUT_SANDBOX_RUNTIME", sandbox)
        scorer_runtime = _runtime(env, "HELDOUT_SCORER_RUNTIME", sandbox)
        production = _parse_bool(env, "HELDOUT_PRODUCTION", False)
        secret_key = env.get("HELDOUT_SECRET_KEY") or ""
        if not secret_key:
            if production:
                raise ConfigError(
                    "HELDOUT_SECRET_KEY is required in production; generate one with "
                    "python -c 'import secrets; print(secrets.token_hex(32))'"
                )
            secret_key = _persisted_secret(data_dir)
        max_upload = _parse_int(env, "HELDOUT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
        deadline = _parse_int(env, "HELDOUT_RUNNING_DEADLINE_S", 60)
        pool_size = _parse_int(env, "HELDOUT_SANDBOX_POOL_SIZE", 2, allow_zero=True)
        reconcile_interval = _parse_int(env, "HELDOUT_RECONCILE_INTERVAL_S", 30)
        worker_heartbeat = _parse_int(env, "HELDOUT_WORKER_HEARTBEAT_S", 10)
        trusted_proxies = _parse_int(env, "HELDOUT_TRUSTED_PROXIES", 0, allow_zero=True)
        log_format = (env.get("HELDOUT_LOG_FORMAT") or ("json" if production else "text")).strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"HELDOUT_LOG_FORMAT={env['HELDOUT_LOG_FORMAT']!r} is not one of "
                              f"{', '.join(LOG_FORMATS)}")
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            sandbox=sandbox,
            storage=storage,
            s3=s3,
            sandbox_image=sandbox_build_env(env).image,
            sandbox_runtime=sandbox_runtime,
            scorer_runtime=scorer_runtime,
            secret_key=secret_key,
            production=production,
            max_upload_bytes=max_upload,
            running_deadline_s=deadline,
            sandbox_pool_size=pool_size,
            scorer=scorer,
            reconcile_interval_s=reconcile_interval,
            worker_heartbeat_s=worker_heartbeat,
            log_format=log_format,
            metrics_token=env.get("HELDOUT_METRICS_TOKEN") or None,
            trusted_proxies=trusted_proxies,
        )


@dataclass(frozen=True)
class SandboxBuildEnv:
    """What the sandbox image's tools (build, prepare, the container pool) read: they run from the command line
    and inside the Docker backend, where no ``Settings`` is passed, so each call reads the environment again."""

    # HELDOUT_SANDBOX_DOCKER_DIR: the image's recipe, when not docker/sandbox of the source tree.
    docker_dir: Path | None = None
    # HELDOUT_SANDBOX_IMAGE: the image to run instead of this source tree's content-hash tag.
    image: str | None = None
    # HELDOUT_SANDBOX_ONLINE=1: build from python:3.11-slim off a registry, not the registry-free recipe.
    online: bool = False
    # HELDOUT_SANDBOX_POOL_DIR: where prestarted containers' folders live, when not the temporary folder.
    pool_dir: Path | None = None


def sandbox_build_env(environ: dict[str, str] | None = None) -> SandboxBuildEnv:
    env = os.environ if environ is None else environ
    docker_dir, pool_dir = env.get("HELDOUT_SANDBOX_DOCKER_DIR"), env.get("HELDOUT_SANDBOX_POOL_DIR")
    return SandboxBuildEnv(docker_dir=Path(docker_dir) if docker_dir else None,
                           image=env.get("HELDOUT_SANDBOX_IMAGE") or None,
                           online=env.get("HELDOUT_SANDBOX_ONLINE") == "1",
                           pool_dir=Path(pool_dir) if pool_dir else None)


def new_password(environ: dict[str, str] | None = None) -> str | None:
    """HELDOUT_NEW_PASSWORD: the password ``heldout users create`` and ``passwd`` set without asking for one."""
    env = os.environ if environ is None else environ
    return env.get("HELDOUT_NEW_PASSWORD") or None


def _s3_settings(env: dict, *, required: bool) -> S3Settings | None:
    """The bucket's settings when any is given (or ``required``: HELDOUT_STORAGE=s3); None otherwise."""
    bucket = (env.get("HELDOUT_S3_BUCKET") or "").strip() or None
    endpoint = (env.get("HELDOUT_S3_ENDPOINT_URL") or "").strip() or None
    if bucket is None:
        if required:
            raise ConfigError("HELDOUT_S3_BUCKET is required with HELDOUT_STORAGE=s3: the name of the bucket "
                              "that keeps the files")
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise ConfigError(f"HELDOUT_S3_BUCKET={bucket!r} is not a bucket name: 3 to 63 lower-case letters, "
                          "digits, dots and hyphens")
    if endpoint is not None and not re.match(r"^https?://[^/\s]+", endpoint):
        raise ConfigError(f"HELDOUT_S3_ENDPOINT_URL={endpoint!r} is not a URL; use e.g. http://minio:9000, "
                          "or leave it unset for AWS itself")
    prefix = (env.get("HELDOUT_S3_PREFIX") or "").strip().strip("/")
    if prefix and not re.fullmatch(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*", prefix):
        raise ConfigError(f"HELDOUT_S3_PREFIX={env['HELDOUT_S3_PREFIX']!r} is not a key prefix: letters, digits, "
                          "'_', '.', '-', separated by '/'")
    key_id = env.get("AWS_ACCESS_KEY_ID") or None
    secret = env.get("AWS_SECRET_ACCESS_KEY") or None
    if (key_id is None) != (secret is None):
        missing = "AWS_SECRET_ACCESS_KEY" if secret is None else "AWS_ACCESS_KEY_ID"
        raise ConfigError(f"{missing} is missing: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
    return S3Settings(bucket=bucket, endpoint_url=endpoint, prefix=prefix + "/" if prefix else "",
                      region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
                      access_key_id=key_id, secret_access_key=secret,
                      session_token=env.get("AWS_SESSION_TOKEN") or None)


def _runtime(env: dict, name: str, sandbox: str) -> str | None:
    """A Docker runtime's name (``runsc``), or None for the daemon's default."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", raw):
        raise ConfigError(f"{name}={env[name]!r} is not a Docker runtime's name; use e.g. runsc (gVisor), as "
                          "registered under \"runtimes\" in /etc/docker/daemon.json")
    if sandbox == "bubblewrap":
        raise ConfigError(f"{name}={raw} names a Docker runtime, but HELDOUT_SANDBOX=bubblewrap runs no Docker: "
                          "set HELDOUT_SANDBOX=docker (or auto), or unset it")
    return raw


def _normalise_database_url(url: str) -> str:
    # Users paste the URL their hosting gives them; route it to the psycopg 3 driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _parse_bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use 1 or 0")


def _parse_int(env: dict, name: str, default: int, *, allow_zero: bool = False) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name}={raw!r} must be {'zero or more' if allow_zero else 'positive'}")
    return value


def _persisted_secret(data_dir: Path) -> str:
    """The demo's secret key: generated once and kept, so sessions survive restarts."""
    path = data_dir / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot keep the secret key in {path}: {exc.strerror}; "
                          "set HELDOUT_SECRET_KEY or HELDOUT_DATA_DIR") from None
