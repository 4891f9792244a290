"""What organizers do to their challenges: upload a bundle as a draft, publish it, change its
timeline and limits, rescore it, download its submissions, and read why submissions failed.

An organizer manages the challenges they uploaded; admins manage every challenge; a study group's lead
manages the group's own challenges (uploaded or cloned: ``services.group_challenges``) through the same pages.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from heldout.challenges.bundle import load_bundle
from heldout.challenges.errors import BundleError, BundleErrors
from heldout.challenges.upload import TooLarge, bounded_chunks
from heldout.leaderboard.hosts import is_host
from heldout.models import Challenge, ChallengeStatus, StudyGroup, Submission, SubmissionStatus, Team, User
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError, UploadTooLarge
from heldout.platform.services.publishing import LoadResult, requeue_challenge, store_bundle
from heldout.runner import baseline_checks
from heldout.runner.baseline_checks import BaselineReport
from heldout.runner.queue import enqueue_baseline_check, enqueue_scoring
from heldout.storage import Storage

FAILURES_SHOWN = 200
ARCHIVE_CHUNK = 1024 * 1024


class BundleRejected(ServiceError):
    """The uploaded bundle has problems; ``errors`` lists each with its file, field and row."""

    code = "invalid_bundle"

    def __init__(self, errors: list[BundleError]):
        super().__init__(f"The bundle has {len(errors)} problem{'s' if len(errors) != 1 else ''}; nothing was stored.",
                         field="bundle")
        self.errors = errors


def require_organizer(user: User) -> None:
    if not (user.is_organizer or user.is_admin):
        raise Forbidden("Only organizer accounts can manage challenges.")


def may_manage(user: User | None, challenge: Challenge) -> bool:
    if user is None:
        return False
    return user.is_admin or (user.is_organizer and challenge.created_by_id == user.id)


def manages(session: Session, user: User | None, challenge: Challenge) -> bool:
    """``may_manage``, or the challenge belongs to a study group and the user hosts it (leads it)."""
    if may_manage(user, challenge):
        return True
    return challenge.group_id is not None and is_host(session, challenge, user)


def owning_group(session: Session, challenge: Challenge) -> StudyGroup | None:
    return session.get(StudyGroup, challenge.group_id) if challenge.group_id is not None else None


def managed_challenges(session: Session, user: User) -> list[Challenge]:
    require_organizer(user)
    query = select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
    if not user.is_admin:
        query = query.where(Challenge.created_by_id == user.id)
    return list(session.scalars(query))


def get_managed_challenge(session: Session, user: User, slug: str) -> Challenge:
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None or not manages(session, user, challenge):
        raise NotFound(f"You manage no challenge {slug!r}.")
    return challenge


def upload_bundle(session: Session, storage: Storage, queue: Queue | None, user: User, *, stream: BinaryIO,
                  filename: str, max_bytes: int) -> LoadResult:
    """Validate a bundle zip and store it as a draft (or update the organizer's own challenge with that slug).

    Raises :class:`BundleRejected` listing every problem; then nothing is stored.
    """
    require_organizer(user)
    if not (filename or "").lower().endswith(".zip"):
        raise ServiceError("Upload the bundle as a .zip holding challenge.yaml and its files.", field="bundle")
    with tempfile.TemporaryDirectory(prefix="heldout-upload-") as tmp:
        path = Path(tmp) / "bundle.zip"
        save_upload(stream, path, max_bytes)
        try:
            with load_bundle(path) as bundle:
                existing = session.scalar(select(Challenge).where(Challenge.slug == bundle.slug))
                if existing is not None and not may_manage(user, existing):
                    raise Conflict(f"The slug {bundle.slug!r} belongs to another challenge; choose another "
                                   "'slug' in challenge.yaml.", field="slug")
                result = store_bundle(session, storage, queue, bundle, publish=False, created_by_id=user.id)
        except BundleErrors as exc:
            raise BundleRejected(exc.errors) from None
    challenge = session.get(Challenge, result.challenge_id)
    if challenge.baseline_state is None:  # a new or changed bundle: its baseline has not been run yet
        return replace(result, baseline_queued=request_baseline_check(session, queue, challenge))
    return result


def request_baseline_check(session: Session, queue: Queue | None, challenge: Challenge) -> bool:
    """Queue a run of the bundle's baseline in the sandbox, on a worker (heldout.runner.baseline_checks says
    why not in this request); the organizer's page shows its scores once it has run. False when the bundle
    declares no baseline."""
    if not baseline_checks.mark_pending(session, challenge):
        return False
    session.commit()
    if queue is not None:
        enqueue_baseline_check(queue, challenge.id, challenge.content_hash)
    return True


def save_upload(stream: BinaryIO, path: Path, max_bytes: int) -> None:
    written = 0
    with open(path, "wb") as out:
        try:
            for chunk in bounded_chunks(stream, max_bytes, chunk_size=ARCHIVE_CHUNK):
                written += len(chunk)
                out.write(chunk)
        except TooLarge:
            raise UploadTooLarge(max_bytes, field="bundle", what="bundle", limit_name="the upload limit") from None
    if written == 0:
        raise ServiceError("The uploaded file is empty.", field="bundle", code="empty_file")


@dataclass(frozen=True)
class BaselineStatus:
    """What the organizer's page says of the baseline check: ``state`` is None (not checked), pending,
    passed, failed or error; ``report`` has the scores, the problems and (when it failed) the log."""

    declared: dict | None  # the bundle's baseline: script, score_min, score_max
    state: str | None
    report: BaselineReport | None
    publish_refusal: str | None


def baseline_status(challenge: Challenge) -> BaselineStatus:
    return BaselineStatus(declared=(challenge.rules or {}).get("baseline"), state=challenge.baseline_state,
                          report=baseline_checks.report_of(challenge),
                          publish_refusal=baseline_checks.publish_refusal(challenge))


def publish(session: Session, challenge: Challenge) -> None:
    """Publish a draft; refused until its baseline check has passed (when it declares a baseline)."""
    refusal = baseline_checks.publish_refusal(challenge)
    if refusal is not None:
        raise Conflict(refusal, field="baseline", code="baseline_not_passed")
    challenge.status = ChallengeStatus.PUBLISHED
    session.commit()


@dataclass(frozen=True)
class SettingsForm:
    """The timeline and limits as the form sends them: UTC times as ``YYYY-MM-DDTHH:MM``, blank for none."""

    starts_at: str = ""
    ends_at: str = ""
    team_merge_deadline: str = ""
    daily_limit: str = ""
    max_team_size: str = ""
    # A checkbox: "1" (or on, true, yes) takes late submissions after the close; blank (unticked) refuses them.
    late_submissions: str = "1"

    @classmethod
    def of(cls, challenge: Challenge) -> "SettingsForm":
        """The form as it starts: the challenge's current values."""
        return cls(starts_at=_format_utc(challenge.starts_at), ends_at=_format_utc(challenge.ends_at),
                   team_merge_deadline=_format_utc(challenge.team_merge_deadline),
                   daily_limit=str(challenge.daily_limit), max_team_size=str(challenge.max_team_size),
                   late_submissions="1" if challenge.late_submissions else "")


def _format_utc(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def update_settings(session: Session, challenge: Challenge, form: SettingsForm) -> None:
    """Check every field first, then change them together: a bad field changes nothing."""
    starts_at = _parse_utc(form.starts_at, "starts_at")
    ends_at = _parse_utc(form.ends_at, "ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ServiceError("The end must be after the start.", field="ends_at")
    merge_deadline = _parse_utc(form.team_merge_deadline, "team_merge_deadline")
    if merge_deadline is not None and ends_at is not None and merge_deadline > ends_at:
        raise ServiceError("Teams must be fixed by the close, not after it.", field="team_merge_deadline")
    if merge_deadline is not None and starts_at is not None and merge_deadline <= starts_at:
        raise ServiceError("Teams can only be fixed after the challenge opens.", field="team_merge_deadline")
    daily_limit = _parse_count(form.daily_limit, "daily_limit", "The daily submission limit")
    max_team_size = _parse_count(form.max_team_size, "max_team_size", "The maximum team size")
    late_submissions = _parse_checkbox(form.late_submissions, "late_submissions", "Late submissions")
    challenge.starts_at, challenge.ends_at = starts_at, ends_at
    challenge.team_merge_deadline = merge_deadline
    challenge.daily_limit, challenge.max_team_size = daily_limit, max_team_size
    challenge.late_submissions = late_submissions
    session.commit()


def _parse_utc(value: str, field: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{value!r} is not a date and time like 2026-03-01T12:00.", field=field) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_checkbox(value: str, field: str, label: str) -> bool:
    value = (value or "").strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("", "0", "off", "false", "no"):
        return False
    raise ServiceError(f"{label} must be ticked or not, not {value[:20]!r}.", field=field)


def _parse_count(value: str, field: str, label: str) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        raise ServiceError(f"{label} must be a whole number.", field=field) from None
    if not 1 <= number <= 10_000:
        raise ServiceError(f"{label} must be between 1 and 10000.", field=field)
    return number


def rescore(session: Session, queue: Queue | None, challenge: Challenge) -> int:
    """Queue every finished submission of the challenge again; returns how many. Enqueued after the commit,
    so no worker can pick up a row that is not yet queued in the database."""
    attempts = requeue_challenge(session, challenge.id)
    session.commit()
    if queue is not None:
        for submission_id, attempt in attempts:
            enqueue_scoring(queue, submission_id, attempt)
    return len(attempts)


def failed_submissions(session: Session, challenge: Challenge) -> list[Submission]:
    """The most recent failed (participant's fault) and errored (platform's fault) submissions."""
    return list(session.scalars(
        select(Submission).options(joinedload(Submission.team), joinedload(Submission.user))
        .where(Submission.challenge_id == challenge.id,
               Submission.status.in_((SubmissionStatus.FAILED, SubmissionStatus.ERROR)))
        .order_by(Submission.created_at.desc(), Submission.id.desc()).limit(FAILURES_SHOWN)))


MANIFEST_COLUMNS = ["id", "team", "user", "filename", "archived_as", "message", "created_at", "status",
                    "public_score", "private_score", "error"]


def submissions_archive(session: Session, storage: Storage, challenge: Challenge) -> Iterator[bytes]:
    """Every submission of the challenge and a manifest.csv, as a zip produced piece by piece.

    The rows are read now; the returned iterator touches only storage, so it
    may run after the request's database session is closed.
    """
    rows = session.execute(
        select(Submission, Team.name, User.username).join(Team, Team.id == Submission.team_id)
        .join(User, User.id == Submission.user_id).where(Submission.challenge_id == challenge.id)
        .order_by(Submission.id)).all()
    entries = []
    for submission, team_name, username in rows:
        archived_as = f"submissions/{submission.id}-{_safe_name(team_name)}-{_safe_name(submission.filename)}"
        entries.append((submission.file_key, archived_as, [
            submission.id, team_name, username, submission.filename, archived_as, submission.message,
            submission.created_at.isoformat(), submission.status.value, submission.public_score,
            submission.private_score, submission.error or ""]))
    return _zip_stream(storage, entries)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text or "").strip("._")[:60] or "file"


def _spreadsheet_safe(value: object) -> object:
    # Learners write team names and messages; a cell starting with '=' would be a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Sink:
    """A write-only file for ZipFile whose bytes are handed on as they are produced."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _zip_stream(storage: Storage, entries: list[tuple[str, str, list]]) -> Iterator[bytes]:
    sink = _Sink()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(MANIFEST_COLUMNS)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, archived_as, row in entries:
            if not storage.exists(key):
                row[4] = "(file missing from storage)"
            else:
                with storage.open(key) as source, archive.open(archived_as, "w", force_zip64=True) as target:
                    while chunk := source.read(ARCHIVE_CHUNK):
                        target.write(chunk)
                        yield sink.drain()
            writer.writerow([_spreadsheet_safe(v) for v in row])
        archive.writestr("manifest.csv", manifest.getvalue())
    yield sink.drain()
