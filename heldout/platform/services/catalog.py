"""Which challenges a user may see, and finding one by slug.

A challenge owned by a study group is invisible to non-members everywhere: in
lists, counts and lookups they get "not found", never "forbidden".
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from heldout.models import Challenge, ChallengeFile, ChallengeStatus, GroupMembership, User
from heldout.platform.services.errors import NotFound


def _visible(query: Select, user: User | None) -> Select:
    if user is not None and user.is_admin:
        return query
    published_public = (Challenge.status == ChallengeStatus.PUBLISHED) & Challenge.group_id.is_(None)
    if user is None:
        return query.where(published_public)
    member_groups = select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)
    return query.where(or_(
        published_public,
        (Challenge.status == ChallengeStatus.PUBLISHED) & Challenge.group_id.in_(member_groups),
        Challenge.created_by_id == user.id,
    ))


def list_challenges(session: Session, user: User | None) -> list[Challenge]:
    query = _visible(select(Challenge), user).order_by(Challenge.created_at.desc(), Challenge.id.desc())
    return list(session.scalars(query))


def get_challenge(session: Session, user: User | None, slug: str) -> Challenge:
    challenge = session.scalar(_visible(select(Challenge).where(Challenge.slug == slug), user))
    if challenge is None:
        raise NotFound(f"No challenge {slug!r}.")
    return challenge


def get_file(session: Session, challenge: Challenge, name: str) -> ChallengeFile:
    row = session.scalar(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id,
                                                     ChallengeFile.name == name))
    if row is None:
        raise NotFound(f"The challenge has no file {name!r}.", field="name")
    return row
