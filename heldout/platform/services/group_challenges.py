"""A study group's own challenges: uploaded or cloned by its lead, then drafted, previewed and published
through the organizer's flow (``services.organizer``: the baseline check, the timeline and limits).

A clone is a new challenge row of the group with its own slug, timeline, limits and boards, pointing at the
same stored files as the original: the data, the solution and the scorer's runtime files are shared by their
content-hashed storage keys (``challenges/<slug>/<content hash>/...``, ``solutions/<slug>/<hash>.csv``), never
copied, so a clone stores no new bytes. A lead may clone

* a published public challenge whose organizer allows it (``rules.cloneable``: the shipped practice track), and
* any challenge they host (``leaderboard.hosts``): their own, or one of a group they lead.
"""

from __future__ import annotations

import copy
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.challenges.bundle import load_bundle
from heldout.challenges.bundle_schema import SLUG_RE
from heldout.challenges.errors import BundleErrors
from heldout.leaderboard.hosts import is_host
from heldout.models import Challenge, ChallengeFile, ChallengeStatus, StudyGroup, User
from heldout.platform.services import catalog, organizer
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError
from heldout.platform.services.groups import lead_group
from heldout.platform.services.leaderboards import private_visible
from heldout.platform.services.publishing import LoadResult, store_bundle
from heldout.runner.baseline_checks import PASSED
from heldout.storage import Storage

MAX_TITLE = 200


def upload_group_challenge(session: Session, storage: Storage, queue: Queue | None, lead: User, slug: str, *,
                           stream: BinaryIO, filename: str, max_bytes: int) -> LoadResult:
    """Store a bundle zip as a draft of the group (or update the group's own challenge of that slug) and queue
    its baseline check; the lead previews it and publishes it from its organizer page."""
    group = lead_group(session, lead, slug)
    if not (filename or "").lower().endswith(".zip"):
        raise ServiceError("Upload the bundle as a .zip holding challenge.yaml and its files.", field="bundle")
    with tempfile.TemporaryDirectory(prefix="heldout-bundle-") as tmp:
        path = Path(tmp) / "bundle.zip"
        organizer.save_upload(stream, path, max_bytes)
        try:
            with load_bundle(path) as bundle:
                existing = session.scalar(select(Challenge).where(Challenge.slug == bundle.slug))
                # A bundle may only update a challenge of this same group: never someone else's.
                if existing is not None and existing.group_id != group.id:
                    raise Conflict(f"The slug {bundle.slug!r} is taken by another challenge; change 'slug' in "
                                   "challenge.yaml.", field="bundle")
                result = store_bundle(session, storage, queue, bundle, publish=False, created_by_id=lead.id,
                                      group_id=group.id)
        except BundleErrors as exc:
            session.rollback()
            raise organizer.BundleRejected(exc.errors) from None
    challenge = session.get(Challenge, result.challenge_id)
    if challenge is not None and challenge.baseline_state is None:
        return replace(result, baseline_queued=organizer.request_baseline_check(session, queue, challenge))
    return result


# --- cloning -----------------------------------------------------------------------------------------------------

def clone_refusal(session: Session, source: Challenge, lead: User) -> str | None:
    """Why ``lead`` may not clone ``source`` into a group, or None when they may."""
    if is_host(session, source, lead):
        return None
    if source.group_id is None and source.status == ChallengeStatus.PUBLISHED and _cloneable(source):
        if source.ends_at is not None and not private_visible(source):
            # The clone shares the solution and its lead reveals its private board at will: cloning a running
            # competition would let anyone (any account may lead a group) read the private split's scores.
            return (f"{source.title!r} cannot be cloned until its private leaderboard is revealed: a clone's lead "
                    "could otherwise read private scores of the running challenge.")
        return None
    return (f"{source.title!r} cannot be cloned: its organizer does not allow cloning (rules.cloneable is false) "
            "and you do not host it.")


def _cloneable(challenge: Challenge) -> bool:
    return (challenge.rules or {}).get("cloneable") is True


@dataclass(frozen=True)
class CloneSource:
    slug: str
    title: str
    hosted: bool  # the lead hosts it (rather than its organizer allowing clones)


def clone_sources(session: Session, lead: User) -> list[CloneSource]:
    """What the lead may clone, for the form on the group page: cloneable public challenges, then their own."""
    led = set(session.scalars(select(StudyGroup.id).where(StudyGroup.lead_id == lead.id)))
    out = []
    for c in catalog.list_challenges(session, lead):
        hosted = lead.is_admin or c.created_by_id == lead.id or (c.group_id is not None and c.group_id in led)
        if hosted or clone_refusal(session, c, lead) is None:
            out.append(CloneSource(c.slug, c.title, hosted))
    return sorted(out, key=lambda s: (s.hosted, s.title.lower(), s.slug))


@dataclass(frozen=True)
class CloneResult:
    challenge_slug: str
    challenge_id: int
    baseline_queued: bool  # the original's check did not carry over, so the clone's own was queued


def clone_into_group(session: Session, queue: Queue | None, lead: User, group_slug: str, source_slug: str, *,
                     slug: str = "", title: str = "") -> CloneResult:
    """Clone ``source_slug`` into the group as a draft with its own timeline, limits and boards.

    The timeline starts empty (open now, never closes) for the lead to set on the draft's page; the daily
    limit, team size, finals and leaderboard mode start as the original's. Nothing is stored but rows.
    """
    group = lead_group(session, lead, group_slug)
    source_slug = (source_slug or "").strip()
    if not source_slug:
        raise ServiceError("Choose the challenge to clone.", field="source")
    try:
        source = catalog.get_challenge(session, lead, source_slug)
    except NotFound:
        raise NotFound(f"No challenge {source_slug!r} that you can see.", field="source") from None
    refusal = clone_refusal(session, source, lead)
    if refusal is not None:
        raise Forbidden(refusal, field="source", code="not_cloneable")
    new_slug = _clone_slug(session, slug, f"{source.slug}-{group.slug}")
    new_title = _clone_title(title, source.title)
    clone = Challenge(
        slug=new_slug, title=new_title, summary=source.summary, description_md=source.description_md,
        tags=list(source.tags or []), difficulty=source.difficulty, task_type=source.task_type, metric=source.metric,
        greater_is_better=source.greater_is_better, display_precision=source.display_precision,
        scoring_spec=copy.deepcopy(source.scoring_spec),
        # A group's challenge is never public, so never cloneable by others; where it came from is kept.
        rules={**copy.deepcopy(source.rules or {}), "cloneable": False, "cloned_from": source.slug},
        kind=source.kind, status=ChallengeStatus.DRAFT, starts_at=None, ends_at=None, team_merge_deadline=None,
        daily_limit=source.daily_limit, max_team_size=source.max_team_size,
        max_final_submissions=source.max_final_submissions, leaderboard_mode=source.leaderboard_mode,
        private_revealed=False, group_id=group.id, created_by_id=lead.id, version=1,
        content_hash=source.content_hash, solution_hash=source.solution_hash, solution_key=source.solution_key)
    # The same stored files: each key names its content (the bundle's hash), so nothing is copied.
    clone.files = [ChallengeFile(name=f.name, storage_key=f.storage_key, size=f.size, sha256=f.sha256)
                   for f in source.files]
    if source.baseline_state == PASSED:
        # The same bundle, byte for byte (same content hash), scored the same way: its passed check holds.
        clone.baseline_state, clone.baseline_report = PASSED, copy.deepcopy(source.baseline_report)
    session.add(clone)
    session.flush()
    queued = False
    if clone.baseline_state is None:
        queued = organizer.request_baseline_check(session, queue, clone)
    session.commit()
    return CloneResult(clone.slug, clone.id, queued)


def _clone_slug(session: Session, wanted: str, default: str) -> str:
    wanted = (wanted or "").strip().lower()
    if wanted:
        if not SLUG_RE.match(wanted):
            raise ServiceError(f"{wanted[:70]!r} is not a slug: use 3 to 64 lowercase letters, digits and '-'.",
                               field="slug")
        if session.scalar(select(Challenge.id).where(Challenge.slug == wanted)) is not None:
            raise Conflict(f"The slug {wanted!r} is taken by another challenge; choose another.", field="slug")
        return wanted
    base = re.sub(r"-+", "-", default[:58]).strip("-")
    candidate, n = base, 1
    while session.scalar(select(Challenge.id).where(Challenge.slug == candidate)) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _clone_title(wanted: str, default: str) -> str:
    title = " ".join((wanted or "").split()) or default
    if len(title) > MAX_TITLE:
        raise ServiceError(f"Titles are at most {MAX_TITLE} characters.", field="title")
    return title
