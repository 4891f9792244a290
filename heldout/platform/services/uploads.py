"""Two-step submissions, as the Kaggle client makes them: reserve an upload, send the bytes, then submit.

The reservation is a signed token rather than a row: it names the user, the
challenge and the file, expires after a day, and cannot be forged or moved to
another account. The bytes wait in storage under a key derived from the token
until the submission is made from them (or are left for the next upload to
the same token to replace).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from rq import Queue
from sqlalchemy.orm import Session

from heldout.challenges.upload import clean_filename
from heldout.models import Challenge, Submission, User, utcnow
from heldout.platform.services import extensions, submissions
from heldout.platform.services.errors import NotFound, UploadTooLarge
from heldout.platform.services.membership import team_for
from heldout.storage import Storage, TooLarge

MAX_AGE_S = 24 * 3600
_SALT = "heldout-staged-upload"


@dataclass(frozen=True)
class StagedUpload:
    token: str
    user_id: int
    challenge_id: int
    filename: str

    @property
    def storage_key(self) -> str:
        return f"uploads/{hashlib.sha256(self.token.encode()).hexdigest()[:40]}.upload"


def size_limit(challenge: Challenge, server_limit: int) -> int:
    """The most bytes one submission to ``challenge`` may have."""
    return int((challenge.scoring_spec or {}).get("max_bytes") or server_limit)


def _signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def start_upload(session: Session, secret_key: str, challenge: Challenge, user: User, *, filename: str,
                 size: int | None, server_limit: int, now: datetime | None = None) -> StagedUpload:
    """Reserve an upload; refuses at once a closed challenge, a team whose day is used up (so the file is not sent
    for nothing), or a file declared larger than the limit."""
    max_bytes = size_limit(challenge, server_limit)
    filename = clean_filename(filename) or "submission.csv"
    if size is not None and size > max_bytes:
        raise UploadTooLarge(max_bytes)
    now = now or utcnow()
    submissions.check_window(challenge, now, extensions.counting_end(session, challenge, user))
    submissions.check_quota(session, challenge, team_for(session, challenge, user, create=False), now)
    token = _signer(secret_key).dumps({"u": user.id, "c": challenge.id, "f": filename,
                                       "n": secrets.token_hex(8)})
    return StagedUpload(token, user.id, challenge.id, filename)


def read_token(secret_key: str, token: str) -> StagedUpload:
    try:
        data = _signer(secret_key).loads(token or "", max_age=MAX_AGE_S)
    except SignatureExpired:
        raise NotFound("This upload reservation expired; start the submission again.", field="token",
                       code="upload_expired") from None
    except BadSignature:
        raise NotFound("No such upload.", field="token") from None
    return StagedUpload(token, int(data["u"]), int(data["c"]), str(data["f"]))


def receive_upload(session: Session, storage: Storage, secret_key: str, token: str, stream: BinaryIO, *,
                   server_limit: int) -> int:
    """Store the bytes for a reservation, stopping as soon as they pass the challenge's limit; returns the size."""
    staged = read_token(secret_key, token)
    challenge = session.get(Challenge, staged.challenge_id)
    if challenge is None:
        raise NotFound("No such upload.", field="token")
    max_bytes = size_limit(challenge, server_limit)
    try:
        size, _sha = storage.save_stream(staged.storage_key, stream, max_bytes=max_bytes)
    except TooLarge as exc:
        raise UploadTooLarge(exc.limit) from None
    return size


def submit_upload(session: Session, storage: Storage, queue: Queue | None, secret_key: str, *,
                  token: str, challenge: Challenge, user: User, message: str, server_limit: int) -> Submission:
    """Make the submission from an upload received earlier, with every rule of a direct submission."""
    staged = read_token(secret_key, token)
    if staged.user_id != user.id or staged.challenge_id != challenge.id or not storage.exists(staged.storage_key):
        raise NotFound("No such upload: send the file before submitting it.", field="blobFileTokens")
    with storage.open(staged.storage_key) as stream:
        submission = submissions.create_submission(
            session, storage, queue, challenge=challenge, user=user, stream=stream, filename=staged.filename,
            message=message, max_bytes=size_limit(challenge, server_limit))
    storage.delete(staged.storage_key)
    return submission
