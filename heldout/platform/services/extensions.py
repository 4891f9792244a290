"""Per-member deadlines on a study group's challenge: the lead gives one member a later end (an extension).

The rules are ``heldout.leaderboard.deadlines``; this module reads and writes the rows: the extensions, the
challenge's ``extended_until`` (their latest end, kept in the same transaction so the reveal rule reads the
challenge row alone) and, for a member, the end that applies to them. An extension is given only while the
private board is still hidden: once it is shown, a later end could only change a board everyone has read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from heldout.leaderboard import deadlines
from heldout.models import Challenge, ChallengeExtension, GroupMembership, StudyGroup, User, utcnow
from heldout.platform.services.errors import Forbidden, NotFound, ServiceError


@dataclass(frozen=True)
class Extension:
    user_id: int
    username: str
    ends_at: datetime


@dataclass(frozen=True)
class MyDeadline:
    """What a member's own challenge page says of their end: only theirs, never anyone else's."""

    ends_at: datetime | None  # the end that applies to them (their extension's, or the challenge's)
    extended: bool  # they have an extension later than the challenge's end
    counts_until: datetime | None  # their end, or an earlier reveal by hand that cut it short
    cut_short: bool  # the lead revealed the private board before their end: what they submit now is late


def _group_of(session: Session, challenge: Challenge, user: User) -> StudyGroup:
    """The group that owns the challenge, when ``user`` leads it (or is an admin)."""
    group = session.get(StudyGroup, challenge.group_id) if challenge.group_id is not None else None
    if group is None:
        raise ServiceError("Extensions are for a study group's own challenges.", field="challenge")
    if group.lead_id != user.id and not user.is_admin:
        raise Forbidden("Only the group's lead gives extensions.", field="member")
    return group


def _parse_end(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = (value or "").strip()
    if not text:
        raise ServiceError("Give the member's new end, a UTC time like 2026-03-01T12:00.", field="extension_end")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(f"{text[:40]!r} is not a date and time like 2026-03-01T12:00.",
                           field="extension_end") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def grant_extension(session: Session, lead: User, challenge: Challenge, username: str, ends_at: str | datetime, *,
                    now: datetime | None = None) -> Extension:
    """Give ``username`` their own end ``ends_at`` (replacing an earlier extension of theirs).

    Refused, changing nothing: a challenge that is not a group's or has no end, a caller who is not its lead,
    an unknown user, a user who is not a member (or is the lead: a host's submissions never rank), an end not
    after the challenge's, and a private board already shown.
    """
    now = now or utcnow()
    group = _group_of(session, challenge, lead)
    if challenge.ends_at is None:
        raise ServiceError("This challenge never ends, so there is nothing to extend: give it an end first.",
                           field="extension_end")
    name = (username or "").strip()
    member = session.scalar(select(User).where(User.username == name)) if name else None
    if member is None:
        raise NotFound(f"No user {name[:40]!r}." if name else "Choose the member to give an extension to.",
                       field="member")
    if session.scalar(select(GroupMembership.user_id).where(GroupMembership.group_id == group.id,
                                                            GroupMembership.user_id == member.id)) is None:
        raise ServiceError(f"{member.username} is not a member of {group.name}.", field="member")
    if member.id == group.lead_id:
        raise ServiceError("The lead hosts the challenge: their submissions never rank, so they need no extension.",
                           field="member")
    end = _parse_end(ends_at)
    if end <= challenge.ends_at:
        raise ServiceError(f"An extension must end after the challenge does ({challenge.ends_at:%Y-%m-%d %H:%M} "
                           f"UTC); {end:%Y-%m-%d %H:%M} UTC is not later.", field="extension_end")
    if deadlines.private_visible(challenge_end=challenge.ends_at, extended_until=challenge.extended_until,
                                 revealed=challenge.private_revealed, now=now):
        raise Forbidden("The private leaderboard is already revealed: an extension now could change a board "
                        "everyone has read.", field="extension_end", code="revealed")
    row = session.get(ChallengeExtension, (challenge.id, member.id))
    if row is None:
        session.add(ChallengeExtension(challenge_id=challenge.id, user_id=member.id, ends_at=end,
                                       granted_by_id=lead.id, created_at=now))
    else:
        row.ends_at, row.granted_by_id = end, lead.id
    session.flush()
    _keep_extended_until(session, challenge)
    session.commit()
    return Extension(member.id, member.username, end)


def revoke_extension(session: Session, lead: User, challenge: Challenge, user_id: int) -> None:
    """Take a member's extension back: the challenge's end applies to them again."""
    _group_of(session, challenge, lead)
    if session.get(ChallengeExtension, (challenge.id, user_id)) is None:
        raise NotFound("That member has no extension on this challenge.", field="member")
    session.execute(delete(ChallengeExtension).where(ChallengeExtension.challenge_id == challenge.id,
                                                     ChallengeExtension.user_id == user_id))
    _keep_extended_until(session, challenge)
    session.commit()


def _keep_extended_until(session: Session, challenge: Challenge) -> None:
    challenge.extended_until = session.scalar(select(func.max(ChallengeExtension.ends_at))
                                              .where(ChallengeExtension.challenge_id == challenge.id))


def members_to_extend(session: Session, challenge: Challenge) -> list[str]:
    """The usernames a lead may give an extension to: the members of the group that owns the challenge."""
    group = session.get(StudyGroup, challenge.group_id) if challenge.group_id is not None else None
    if group is None:
        return []
    return list(session.scalars(select(User.username).join(GroupMembership, GroupMembership.user_id == User.id)
                                .where(GroupMembership.group_id == group.id, User.id != group.lead_id)
                                .order_by(User.username)))


def extensions_of(session: Session, challenge: Challenge) -> list[Extension]:
    """Every extension of the challenge, for its lead's page (members see only their own: ``my_deadline``)."""
    rows = session.execute(select(ChallengeExtension.user_id, User.username, ChallengeExtension.ends_at)
                           .join(User, User.id == ChallengeExtension.user_id)
                           .where(ChallengeExtension.challenge_id == challenge.id)
                           .order_by(ChallengeExtension.ends_at, User.username)).all()
    return [Extension(r.user_id, r.username, r.ends_at) for r in rows]


def member_end(session: Session, challenge: Challenge, user: User | None) -> datetime | None:
    """The end that applies to ``user`` (``deadlines.member_end``): their extension's, or the challenge's."""
    if user is None or challenge.extended_until is None:  # no extension at all: skip the lookup
        return challenge.ends_at
    extension = session.scalar(select(ChallengeExtension.ends_at).where(
        ChallengeExtension.challenge_id == challenge.id, ChallengeExtension.user_id == user.id))
    return deadlines.member_end(challenge.ends_at, extension)


def counting_end(session: Session, challenge: Challenge, user: User | None) -> datetime | None:
    """Until when ``user``'s submissions count: their end, cut short by a reveal by hand."""
    return deadlines.counting_end(member_end(session, challenge, user), challenge.private_revealed_at)


def my_deadline(session: Session, challenge: Challenge, user: User | None, now: datetime) -> MyDeadline:
    own = member_end(session, challenge, user)
    extended = own is not None and challenge.ends_at is not None and own > challenge.ends_at
    return MyDeadline(ends_at=own, extended=extended,
                      counts_until=deadlines.counting_end(own, challenge.private_revealed_at),
                      cut_short=deadlines.cut_short(own, challenge.private_revealed_at, now))
