"""Talking to the API: JSON calls, uploads and downloads with progress bars, resume and checksums.

Every error the server sends is JSON with a stable ``code``; it becomes an
:class:`ApiError` whose text is the server's message, the field at fault and,
when rate-limited, how long to wait. Progress bars go to stderr and only on a
terminal, so stdout stays clean for pipelines.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import requests
from requests_toolbelt import MultipartEncoder, MultipartEncoderMonitor
from tqdm import tqdm

from heldout.client.config import ClientError

TIMEOUT_S = 60
CHUNK = 1024 * 1024


# What to do, for the errors whose server message does not already say it. The server speaks to every client
# (the site, curl, the Kaggle CLI); these speak to a user of this command.
HINTS = {
    "invalid_token": "Then run 'heldout login --url URL' with the new token (or set HELDOUT_TOKEN).",
    "missing_token": "Create an API token on your account page, then run 'heldout login --url URL'.",
}
LATER = "Try again later; if it keeps happening, tell the site's admins."


class ApiError(ClientError):
    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 details: dict | None = None, retry_after: int | None = None):
        self.status, self.code, self.message = status, code, message
        self.field, self.details, self.retry_after = field, details or {}, retry_after
        text = one_line(message)
        if code == "missing_token":
            text = "This needs an API token."
        if field and field not in text and code not in ("invalid_token", "missing_token"):
            text += f" (field: {field})"
        if retry_after and not any(word in text for word in ("Try again", "resets")):
            text += f" Try again in {wait_in_words(retry_after)}."
        if code in HINTS:
            text += " " + HINTS[code]
        elif status >= 500:
            text += " " + LATER
        super().__init__(text)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def wait_in_words(seconds: int) -> str:
    """ "40 seconds", "12 minutes", "19 hours 29 minutes": as the server words its own waits."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    hours, minutes = divmod(-(-seconds // 60), 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def _progress(total: int | None, description: str, *, initial: int = 0, quiet: bool = False) -> tqdm:
    return tqdm(total=total, initial=initial, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False, disable=True if quiet else None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HeldoutClient:
    def __init__(self, url: str, token: str | None, *, session: requests.Session | None = None,
                 quiet: bool = False):
        self.base = url.rstrip("/") + "/api/v1"
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "heldout-cli"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.quiet = quiet

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path

    # -- plumbing --

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.ConnectionError as exc:
            raise self._unreachable(exc) from None
        except requests.Timeout:
            raise ClientError(f"Heldout at {self.base} did not answer within {kwargs['timeout']} seconds; "
                              "try again later") from None
        except requests.RequestException as exc:
            raise ClientError(f"the request to {self.base} failed ({_reason(exc)}); try again") from None
        if response.status_code >= 400:
            raise _api_error(response, self.base)
        return response

    def _unreachable(self, exc: Exception) -> ClientError:
        return ClientError(f"cannot reach Heldout at {self.base} ({_reason(exc)}): check the address "
                           "('heldout login --url URL' or HELDOUT_URL) and that the server is running")

    def get(self, path: str, **params) -> dict:
        response = self._send("GET", path, params={k: v for k, v in params.items() if v is not None})
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"{self.base} answered with something other than JSON: is it a Heldout server? "
                              "Check the address with 'heldout login --url URL'") from None

    def pages(self, path: str, key: str, **params) -> Iterator[dict]:
        """Every item of a paginated list, fetching page after page."""
        page = 1
        while page is not None:
            body = self.get(path, page=page, **params)
            yield from body[key]
            page = body.get("next_page")

    # -- files --

    def upload(self, path: str, file: Path, fields: dict[str, str]) -> requests.Response:
        """POST ``file`` as the multipart field 'file', streamed from disk with a progress bar."""
        with open(file, "rb") as handle:
            encoder = MultipartEncoder(fields={**fields, "file": (file.name, handle, "application/octet-stream")})
            with _progress(encoder.len, f"uploading {file.name}", quiet=self.quiet) as bar:
                monitor = MultipartEncoderMonitor(encoder, lambda m: bar.update(m.bytes_read - bar.n))
                return self._send("POST", path, data=monitor, headers={"Content-Type": monitor.content_type},
                                  timeout=max(TIMEOUT_S, 600))

    def download(self, url: str, target: Path, *, size: int | None, sha256: str | None) -> str:
        """Fetch ``url`` into ``target``; resumes a ``.part`` file left by an interrupted run.

        Returns "downloaded", "resumed" or "up to date". The finished file must
        match ``sha256``, else it is deleted and the download fails.
        """
        if sha256 and target.is_file() and target.stat().st_size == size and sha256_of(target) == sha256:
            return "up to date"
        part = target.with_name(target.name + ".part")
        have = part.stat().st_size if part.is_file() else 0
        headers = {}
        if have and (size is None or have < size):
            headers["Range"] = f"bytes={have}-"
            if sha256:
                # Only append if the server's file is still the one the partial came from.
                headers["If-Range"] = f'"{sha256}"'
        else:
            have = 0
        try:
            response = self.session.get(self.url(url), headers=headers, stream=True, timeout=TIMEOUT_S)
        except requests.ConnectionError as exc:
            raise self._unreachable(exc) from None
        with response:
            if response.status_code == 416 and have:
                # The partial file is no prefix of the server's: start again from nothing.
                part.unlink(missing_ok=True)
                return self.download(url, target, size=size, sha256=sha256)
            if response.status_code >= 400:
                raise _api_error(response, self.base)
            resumed = response.status_code == 206
            self._write(response, part, "ab" if resumed else "wb", have if resumed else 0, size, target.name)
        if sha256 and sha256_of(part) != sha256:
            part.unlink(missing_ok=True)
            raise ClientError(f"{target.name}: the download does not match its checksum; run the command again")
        os.replace(part, target)
        return "resumed" if resumed else "downloaded"

    def _write(self, response: requests.Response, part: Path, mode: str, start: int, size: int | None,
               name: str) -> None:
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as out, _progress(size, name, initial=start, quiet=self.quiet) as bar:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _api_error(response: requests.Response, base: str) -> ApiError:
    retry = response.headers.get("Retry-After")
    retry_after = int(retry) if retry and retry.isdigit() else None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "message" not in body:
        what = f"the server answered {response.status_code} {response.reason}"
        if response.status_code < 500 and response.status_code != 429:
            what += f", not as Heldout's API does: check that {base} is a Heldout server ('heldout login --url URL')"
        return ApiError(response.status_code, "http_error", what, retry_after=retry_after)
    return ApiError(response.status_code, str(body.get("code") or "error"), str(body["message"]),
                    field=body.get("field"), details=body.get("details"), retry_after=retry_after)
