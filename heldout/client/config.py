"""Where the client finds its server and token: the environment first, then ``~/.config/heldout/config.toml``.

``HELDOUT_URL`` and ``HELDOUT_TOKEN`` override the file, so CI jobs and
one-off shells need no file at all. The file holds a secret, so it is created
readable by its owner only (0600) and replaced atomically.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w


class ClientError(Exception):
    """Something the user can fix; printed as one line, exit status 1."""


@dataclass(frozen=True)
class ClientConfig:
    url: str
    token: str | None


def config_path(environ: dict | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "heldout" / "config.toml"


def normalise_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"{url!r} is not a server URL; use e.g. http://127.0.0.1:5000")
    return url


def load_config(environ: dict | None = None) -> ClientConfig:
    env = os.environ if environ is None else environ
    stored: dict = {}
    path = config_path(env)
    if path.is_file():
        try:
            stored = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ClientError(f"{path} is not valid TOML ({exc}); run 'heldout login --url URL' again") from None
    url = env.get("HELDOUT_URL") or stored.get("url")
    if not url:
        raise ClientError("no server configured: run 'heldout login --url URL' or set HELDOUT_URL")
    return ClientConfig(url=normalise_url(url), token=env.get("HELDOUT_TOKEN") or stored.get("token") or None)


def save_config(config: ClientConfig, environ: dict | None = None) -> Path:
    path = config_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"url": config.url}
    if config.token:
        data["token"] = config.token
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            tomli_w.dump(data, handle)
        os.chmod(tmp, 0o600)  # in case a umask or an older file widened it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def token_from_env(environ: dict | None = None) -> str:
    """HELDOUT_TOKEN: the token ``heldout login`` stores without asking for one (empty when unset)."""
    env = os.environ if environ is None else environ
    return env.get("HELDOUT_TOKEN") or ""
