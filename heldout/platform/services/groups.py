"""Study groups: a name, a lead, members and an invite link.

A group sees any public challenge's leaderboard restricted to its members, and
owns private challenges that only its members see (``catalog`` hides them; the
lead uploads or clones them: ``group_challenges``).
To a non-member a group does not exist: every lookup is "not found".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.models import (
    BoardIdentity,
    Challenge,
    ChallengeStatus,
    GroupMembership,
    StudyGroup,
    TeamMembership,
    User,
    utcnow,
)
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError
from heldout.platform.services.identity import member_names

MAX_NAME = 80
PSEUDONYM = re.compile(r"^[^\W_][\w .'’-]{1,29}$")
# Labels the boards give by themselves: nobody may take one as a pseudonym.
_RESERVED = re.compile(r"^(member\s*)?#?\s*\d+$|^a former member$", re.I)


@dataclass(frozen=True)
class GroupMember:
    user_id: int
    # The username, or to a member of a group whose boards hide names, the member's label ("Night Owl", "#7").
    username: str
    joined_at: datetime
    is_lead: bool


@dataclass(frozen=True)
class ChallengeLink:
    slug: str
    title: str
    draft: bool = False  # a group challenge not yet published: only its lead sees it


@dataclass(frozen=True)
class GroupSummary:
    slug: str
    name: str
    lead: str
    members: int
    is_lead: bool
    is_member: bool


@dataclass(frozen=True)
class GroupView:
    slug: str
    name: str
    lead: str
    is_lead: bool
    invite_code: str
    members: list[GroupMember]
    # Challenges the group owns (only members see them).
    own_challenges: list[ChallengeLink]
    # Public challenges its members take part in: each has a leaderboard restricted to the group.
    boards: list[ChallengeLink]
    # How members see each other on the group's boards (a BoardIdentity value), and the viewer's own membership.
    board_identity: str = BoardIdentity.NAMES.value
    my_number: int | None = None
    my_pseudonym: str | None = None
    # The viewer reads labels, not usernames (a member of a pseudonymous or anonymous group).
    masked: bool = False


def _new_code() -> str:
    return secrets.token_urlsafe(12)


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48]
    return slug or "group"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Give the group a name.", field="name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Group names are at most {MAX_NAME} characters.", field="name")
    return name


def _is_member(session: Session, group_id: int, user_id: int) -> bool:
    return session.scalar(select(GroupMembership.user_id).where(GroupMembership.group_id == group_id,
                                                                GroupMembership.user_id == user_id)) is not None


def add_member(session: Session, group_id: int, user_id: int, *, now: datetime | None = None) -> GroupMembership:
    """Make the user a member with the group's next number (the caller checked they are not one, and commits;
    two joins at once may want the same number: the second one's commit fails, and says "try again")."""
    number = (session.scalar(select(func.max(GroupMembership.number))
                             .where(GroupMembership.group_id == group_id)) or 0) + 1
    membership = GroupMembership(group_id=group_id, user_id=user_id, joined_at=now or utcnow(), number=number)
    session.add(membership)
    session.flush()
    return membership


def is_member_of(session: Session, slug: str, user: User) -> bool:
    group_id = session.scalar(select(StudyGroup.id).where(StudyGroup.slug == slug))
    return group_id is not None and _is_member(session, group_id, user.id)


def get_group(session: Session, user: User | None, slug: str) -> StudyGroup:
    """A group the user belongs to (admins see all); anything else is "not found"."""
    group = session.scalar(select(StudyGroup).where(StudyGroup.slug == slug))
    if group is None or user is None or not (user.is_admin or _is_member(session, group.id, user.id)):
        raise NotFound(f"No study group {slug!r}.", field="group")
    return group


def lead_group(session: Session, user: User, slug: str) -> StudyGroup:
    """A group this user leads (or any group, for an admin); a member is refused, anyone else finds nothing."""
    group = get_group(session, user, slug)
    if group.lead_id != user.id and not user.is_admin:
        raise Forbidden("Only the group's lead can do that.", field="group")
    return group


def create_group(session: Session, lead: User, name: str) -> StudyGroup:
    name = _clean_name(name)
    base = _slugify(name)
    slug, n = base, 1
    while session.scalar(select(StudyGroup.id).where(StudyGroup.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    group = StudyGroup(name=name, slug=slug, lead_id=lead.id, invite_code=_new_code())
    session.add(group)
    session.flush()
    add_member(session, group.id, lead.id)
    session.commit()
    return group


def my_groups(session: Session, user: User) -> list[GroupSummary]:
    counts = (select(GroupMembership.group_id, func.count().label("n"))
              .group_by(GroupMembership.group_id).subquery())
    rows = session.execute(
        select(StudyGroup, User.username, counts.c.n)
        .join(GroupMembership, GroupMembership.group_id == StudyGroup.id)
        .join(User, User.id == StudyGroup.lead_id)
        .join(counts, counts.c.group_id == StudyGroup.id)
        .where(GroupMembership.user_id == user.id).order_by(StudyGroup.name, StudyGroup.id)).all()
    return [GroupSummary(slug=g.slug, name=g.name, lead=lead, members=n, is_lead=g.lead_id == user.id,
                         is_member=True) for g, lead, n in rows]


def group_view(session: Session, user: User, slug: str) -> GroupView:
    group = get_group(session, user, slug)
    members = session.execute(
        select(User.id, User.username, GroupMembership.joined_at)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group.id).order_by(GroupMembership.joined_at, User.id)).all()
    own = session.execute(
        select(Challenge.slug, Challenge.title, Challenge.status).where(
            Challenge.group_id == group.id,
            (Challenge.status == ChallengeStatus.PUBLISHED) | (Challenge.created_by_id == user.id))
        .order_by(Challenge.created_at.desc(), Challenge.id.desc())).all()
    member_ids = select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)
    boards = session.execute(
        select(Challenge.slug, Challenge.title).where(
            Challenge.group_id.is_(None), Challenge.status == ChallengeStatus.PUBLISHED,
            Challenge.id.in_(select(TeamMembership.challenge_id).where(TeamMembership.user_id.in_(member_ids))))
        .order_by(Challenge.title, Challenge.id)).all()
    lead = next((m.username for m in members if m.id == group.lead_id), "")
    labels = member_names(session, group, user)
    mine = session.get(GroupMembership, (group.id, user.id))
    return GroupView(
        slug=group.slug, name=group.name, lead=lead, is_lead=group.lead_id == user.id,
        invite_code=group.invite_code,
        members=[GroupMember(user_id=m.id, username=m.username if labels is None or m.id == group.lead_id
                             else labels.get(m.id, ""), joined_at=m.joined_at,
                             is_lead=m.id == group.lead_id) for m in members],
        board_identity=group.board_identity, my_number=mine.number if mine else None,
        my_pseudonym=mine.pseudonym if mine else None, masked=labels is not None,
        own_challenges=[ChallengeLink(slug=c.slug, title=c.title, draft=c.status == ChallengeStatus.DRAFT)
                        for c in own],
        boards=[ChallengeLink(slug=c.slug, title=c.title) for c in boards])


def _group_by_code(session: Session, code: str) -> StudyGroup:
    group = session.scalar(select(StudyGroup).where(StudyGroup.invite_code == (code or "")))
    if group is None:
        raise NotFound("This invite link is not valid (any more); ask the group's lead for a new one.", field="code")
    return group


def invitation(session: Session, user: User, code: str) -> GroupSummary:
    """What an invite link leads to, for the page that asks the user to accept it."""
    group = _group_by_code(session, code)
    lead = session.scalar(select(User.username).where(User.id == group.lead_id)) or ""
    count = session.scalar(select(func.count()).select_from(GroupMembership)
                           .where(GroupMembership.group_id == group.id)) or 0
    return GroupSummary(slug=group.slug, name=group.name, lead=lead, members=count,
                        is_lead=group.lead_id == user.id, is_member=_is_member(session, group.id, user.id))


def join_group(session: Session, user: User, code: str) -> StudyGroup:
    group = _group_by_code(session, code)
    if _is_member(session, group.id, user.id):
        raise Conflict(f"You are already a member of {group.name}.", field="code")
    add_member(session, group.id, user.id)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("Someone else joined at the same moment; please try again.", field="code") from None
    return group


def leave_group(session: Session, user: User, slug: str) -> None:
    group = get_group(session, user, slug)
    if group.lead_id == user.id:
        raise Forbidden("The lead cannot leave their own group.", field="group")
    _remove(session, group, user.id)


def remove_member(session: Session, lead: User, slug: str, user_id: int) -> None:
    group = lead_group(session, lead, slug)
    if user_id == group.lead_id:
        raise ServiceError("The lead cannot remove themselves.", field="user")
    if not _is_member(session, group.id, user_id):
        raise NotFound("That user is not a member of this group.", field="user")
    _remove(session, group, user_id)


def _remove(session: Session, group: StudyGroup, user_id: int) -> None:
    session.execute(delete(GroupMembership).where(GroupMembership.group_id == group.id,
                                                  GroupMembership.user_id == user_id))
    session.commit()


def rotate_invite(session: Session, lead: User, slug: str) -> str:
    """A new invite code; the old link stops working at once."""
    group = lead_group(session, lead, slug)
    group.invite_code = _new_code()
    session.commit()
    return group.invite_code


def set_board_identity(session: Session, lead: User, slug: str, value: str) -> StudyGroup:
    group = lead_group(session, lead, slug)
    try:
        identity = BoardIdentity(value)
    except ValueError:
        raise ServiceError(f"Choose how members see each other: one of "
                           f"{', '.join(m.value for m in BoardIdentity)}, not {str(value)[:20]!r}.",
                           field="board_identity") from None
    group.board_identity = identity.value
    session.commit()
    return group


def set_pseudonym(session: Session, user: User, slug: str, pseudonym: str) -> str | None:
    """The member's pseudonym on the group's boards (an empty one clears it: "Member #n" again)."""
    group = get_group(session, user, slug)
    if group.lead_id == user.id:
        raise Forbidden("The lead is shown by name: only members choose a pseudonym.", field="pseudonym")
    chosen = " ".join((pseudonym or "").split()) or None
    if chosen is not None:
        if not PSEUDONYM.match(chosen) or _RESERVED.match(chosen):
            raise ServiceError("A pseudonym is 2–30 letters, digits, spaces, '.', ''', '-' or '_', starting with a "
                               "letter or digit, and not a number the boards give.", field="pseudonym")
        if session.scalar(select(User.id).where(func.lower(User.username) == chosen.lower())) is not None:
            raise ServiceError("That is someone's username: choose a pseudonym that is not.", field="pseudonym")
        taken = session.scalar(select(GroupMembership.user_id).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id != user.id,
            func.lower(GroupMembership.pseudonym) == chosen.lower()))
        if taken is not None:
            raise Conflict("Another member of the group uses that pseudonym.", field="pseudonym")
    membership = session.get(GroupMembership, (group.id, user.id))
    assert membership is not None  # get_group found the user among the members
    membership.pseudonym = chosen
    session.commit()
    return chosen
