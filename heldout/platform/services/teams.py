"""Teams: create one, invite by link, accept, leave, and merge two teams.

A solo entrant is already a team of one (``membership.team_for``). Until the
challenge's team-merge deadline a member can invite others with the team's
link; accepting brings the acceptor's whole team along, which is a merge. A
merge must fit the limits: the team size, and the submissions the two teams
made together must be no more than one team could have made to date. After the
deadline teams are fixed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.best import board_changes, refresh_team_best
from heldout.leaderboard.history import utc_day
from heldout.leaderboard.hosts import hosts_among, is_host
from heldout.models import Challenge, Submission, Team, TeamMembership, User, utcnow
from heldout.platform.services import catalog
from heldout.platform.services.errors import (
    Conflict,
    Forbidden,
    LimitReached,
    NotFound,
    ServiceError,
)
from heldout.platform.services.finals import FinalsView, finals_view
from heldout.platform.services.membership import team_for, utc_day_start
from heldout.platform.services.submissions import COUNTED, remaining_today

MAX_NAME = 80


@dataclass(frozen=True)
class TeamMember:
    user_id: int
    username: str
    joined_at: datetime
    is_leader: bool


@dataclass(frozen=True)
class TeamView:
    """A user's team in one challenge, as the team page and the API show it."""

    challenge_slug: str
    team_id: int | None
    name: str | None
    members: list[TeamMember]
    is_leader: bool
    # Only members see it, and only while the team may still grow.
    invite_code: str | None
    max_team_size: int
    merge_deadline: datetime | None
    teams_open: bool
    can_leave: bool
    daily_limit: int
    remaining_today: int
    finals: FinalsView
    # The user hosts the challenge: they may submit, are never ranked, and cannot create or join a team.
    host: bool = False
    # The team's write-up of its final submissions (services.writeups): its members always read it.
    writeup: str | None = None


@dataclass(frozen=True)
class Invitation:
    team_name: str
    challenge_slug: str
    challenge_title: str
    members: list[str]
    # The acceptor's current team, which would be merged into this one (None: they join alone).
    own_team: str | None
    already_member: bool


def merge_deadline(challenge: Challenge) -> datetime | None:
    """After this moment teams are fixed: the challenge's own deadline, else its end."""
    return challenge.team_merge_deadline or challenge.ends_at


def teams_open(challenge: Challenge, now: datetime) -> bool:
    deadline = merge_deadline(challenge)
    return deadline is None or now < deadline


def _check_open(challenge: Challenge, now: datetime) -> None:
    if not teams_open(challenge, now):
        raise Forbidden(f"Teams are fixed since the team-merge deadline, "
                        f"{merge_deadline(challenge):%Y-%m-%d %H:%M:%S} UTC.", code="teams_fixed", field="team")


def _check_not_host(session: Session, challenge: Challenge, user_ids: list[int], *,
                    acting: User | None = None) -> None:
    """Hosts submit on their own and are never ranked, so they are in no team with others and make none."""
    hosts = hosts_among(session, challenge, user_ids)
    if not hosts:
        return
    if acting is None or acting.id in hosts:
        raise Forbidden("You host this challenge, so you cannot create or join a team in it: a host may submit to "
                        "test the scorer, but host submissions are never ranked.", code="host", field="team")
    names = ", ".join(session.scalars(select(User.username).where(User.id.in_(hosts)).order_by(User.username)))
    raise Forbidden(f"{names} host{'s' if len(hosts) == 1 else ''} this challenge and cannot be in a team with "
                    "others.", code="host", field="team")


def _members(session: Session, team_id: int) -> list[tuple[int, str, datetime]]:
    return session.execute(select(User.id, User.username, TeamMembership.joined_at)
                           .join(TeamMembership, TeamMembership.user_id == User.id)
                           .where(TeamMembership.team_id == team_id)
                           .order_by(TeamMembership.joined_at, TeamMembership.id)).all()


def leader_id(session: Session, team: Team) -> int | None:
    """The team's leader: the one recorded, else its earliest member (a team of one made on first submission)."""
    if team.leader_id is not None:
        return team.leader_id
    members = _members(session, team.id)
    return members[0][0] if members else None


def _has_submissions(session: Session, team_id: int) -> bool:
    return session.scalar(select(Submission.id).where(Submission.team_id == team_id).limit(1)) is not None


def _clean_name(session: Session, challenge: Challenge, name: str, *, team_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Give the team a name.", field="name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Team names are at most {MAX_NAME} characters.", field="name")
    taken = session.scalar(select(Team.id).where(Team.challenge_id == challenge.id,
                                                 func.lower(Team.name) == name.lower()))
    if taken is not None and taken != team_id:
        raise Conflict(f"There is already a team called {name!r} in this challenge.", field="name")
    return name


def team_view(session: Session, challenge: Challenge, user: User, *, now: datetime | None = None) -> TeamView:
    now = now or utcnow()
    team = team_for(session, challenge, user, create=False)
    members = _members(session, team.id) if team is not None else []
    leader = leader_id(session, team) if team is not None else None
    is_open = teams_open(challenge, now)
    host = is_host(session, challenge, user)
    # A host's team of one never grows (see _check_not_host): it gets no invite link.
    may_grow = is_open and challenge.max_team_size > len(members) and not host
    if team is not None and may_grow and not team.invite_code:
        # A team of one made by a first submission has no link yet: it gets one the first time it looks.
        team.invite_code = _new_code()
        session.commit()
    return TeamView(
        challenge_slug=challenge.slug, team_id=team.id if team else None, name=team.name if team else None,
        members=[TeamMember(user_id=uid, username=name, joined_at=joined, is_leader=uid == leader)
                 for uid, name, joined in members],
        is_leader=leader == user.id, invite_code=team.invite_code if team is not None and may_grow else None,
        max_team_size=challenge.max_team_size, merge_deadline=merge_deadline(challenge), teams_open=is_open,
        can_leave=team is not None and is_open and not _has_submissions(session, team.id),
        daily_limit=challenge.daily_limit, remaining_today=remaining_today(session, challenge, user, now),
        finals=finals_view(session, challenge, team, now=now, viewer=user), host=host,
        writeup=team.writeup_md if team is not None else None)


def create_or_rename_team(session: Session, challenge: Challenge, user: User, name: str, *,
                          now: datetime | None = None) -> Team:
    """Create the user's team under ``name``, or rename it (its leader only); also gives it an invite link."""
    now = now or utcnow()
    _check_open(challenge, now)
    _check_not_host(session, challenge, [user.id])
    team = team_for(session, challenge, user, create=False)
    name = _clean_name(session, challenge, name, team_id=team.id if team else None)
    if team is None:
        team = Team(challenge_id=challenge.id, name=name, leader_id=user.id, invite_code=_new_code())
        session.add(team)
        session.flush()
        session.add(TeamMembership(team_id=team.id, challenge_id=challenge.id, user_id=user.id, joined_at=now))
    else:
        if leader_id(session, team) != user.id:
            raise Forbidden("Only the team's leader can rename it.", field="name")
        team.name = name
        team.leader_id = user.id
        team.invite_code = team.invite_code or _new_code()
    session.commit()
    return team


def rotate_team_invite(session: Session, challenge: Challenge, user: User, *, now: datetime | None = None) -> str:
    """A new invite link for the user's team (its leader only); the old one stops working."""
    now = now or utcnow()
    _check_open(challenge, now)
    _check_not_host(session, challenge, [user.id])
    team = team_for(session, challenge, user, create=False)
    if team is None:
        raise NotFound("You are not in a team in this challenge yet.", field="team")
    if leader_id(session, team) != user.id:
        raise Forbidden("Only the team's leader can make a new invite link.", field="team")
    team.invite_code = _new_code()
    session.commit()
    return team.invite_code


def _team_by_code(session: Session, user: User, code: str) -> tuple[Team, Challenge]:
    team = session.scalar(select(Team).where(Team.invite_code == (code or "")))
    missing = NotFound("This invite link is not valid (any more); ask the team for a new one.", field="code")
    if team is None:
        raise missing
    challenge = session.get(Challenge, team.challenge_id)
    try:
        catalog.get_challenge(session, user, challenge.slug)
    except NotFound:
        raise missing from None
    return team, challenge


def invitation(session: Session, user: User, code: str) -> Invitation:
    """What an invite link leads to, for the page that asks the user to accept it."""
    team, challenge = _team_by_code(session, user, code)
    mine = team_for(session, challenge, user, create=False)
    return Invitation(team_name=team.name, challenge_slug=challenge.slug, challenge_title=challenge.title,
                      members=[name for _uid, name, _joined in _members(session, team.id)],
                      own_team=mine.name if mine is not None and mine.id != team.id else None,
                      already_member=mine is not None and mine.id == team.id)


def accept_invite(session: Session, user: User, code: str, *, now: datetime | None = None) -> Team:
    """Join the team behind ``code``; a user already in a team brings it along (a merge, their leader's call)."""
    now = now or utcnow()
    team, challenge = _team_by_code(session, user, code)
    _check_open(challenge, now)
    mine = team_for(session, challenge, user, create=False)
    if mine is not None and mine.id == team.id:
        raise Conflict(f"You are already in {team.name}.", field="code")
    joining = _members(session, mine.id) if mine is not None else [(user.id, user.username, now)]
    _check_not_host(session, challenge, [uid for uid, _name, _joined in (*joining, *_members(session, team.id))],
                    acting=user)
    size = len(_members(session, team.id)) + len(joining)
    if size > challenge.max_team_size:
        raise LimitReached(f"Teams in this challenge have at most {challenge.max_team_size} "
                           f"member{'s' if challenge.max_team_size != 1 else ''}; together you would be {size}.",
                           field="team", code="team_full")
    if mine is None:
        session.add(TeamMembership(team_id=team.id, challenge_id=challenge.id, user_id=user.id, joined_at=now))
        session.commit()
        return team
    if len(joining) > 1 and leader_id(session, mine) != user.id:
        raise Forbidden(f"Only your team's leader can merge {mine.name} into another team.", field="team")
    check_merge_limits(session, challenge, team.id, mine.id, now)
    _merge(session, challenge, into=team, absorbed=mine, now=now)
    session.commit()
    return team


def check_merge_limits(session: Session, challenge: Challenge, team_a: int, team_b: int, now: datetime) -> None:
    """Two teams may merge only if what they submitted together fits one team's limits to date.

    As on Kaggle: their counted submissions together are at most the daily limit
    times the days the challenge has run (today included), and today's together
    are within today's limit.
    """
    both = (Submission.team_id.in_((team_a, team_b)), Submission.status.in_(COUNTED))
    total = session.scalar(select(func.count(Submission.id)).where(*both)) or 0
    start = challenge.starts_at or challenge.created_at or now
    days = max(1, (utc_day(now) - utc_day(start)).days + 1)
    allowed = challenge.daily_limit * days
    if total > allowed:
        raise LimitReached(f"Together the two teams have made {total} submissions, but one team could have made at "
                           f"most {allowed} by today ({challenge.daily_limit} a day for {days} "
                           f"day{'s' if days != 1 else ''}), so they cannot merge.", field="team", code="merge_limit")
    today = session.scalar(select(func.count(Submission.id)).where(
        *both, Submission.created_at >= utc_day_start(now))) or 0
    if today > challenge.daily_limit:
        raise LimitReached(f"Together the two teams have made {today} submissions today, more than the daily limit "
                           f"of {challenge.daily_limit}; they can merge after 00:00 UTC.", field="team",
                           code="merge_limit")


def _merge(session: Session, challenge: Challenge, *, into: Team, absorbed: Team, now: datetime) -> None:
    board_changes(session, challenge, now, into.id, absorbed.id)
    # The merged team keeps at most the allowed number of final selections: the receiving team's come first.
    kept = session.scalar(select(func.count(Submission.id)).where(
        Submission.team_id == into.id, Submission.selected_final.is_(True))) or 0
    if kept + (session.scalar(select(func.count(Submission.id)).where(
            Submission.team_id == absorbed.id, Submission.selected_final.is_(True))) or 0) \
            > challenge.max_final_submissions:
        session.execute(update(Submission).where(Submission.team_id == absorbed.id)
                        .values(selected_final=False).execution_options(synchronize_session=False))
    # Move everything before deleting the team: its foreign keys cascade.
    session.execute(update(Submission).where(Submission.team_id == absorbed.id)
                    .values(team_id=into.id).execution_options(synchronize_session=False))
    session.execute(update(TeamMembership).where(TeamMembership.team_id == absorbed.id)
                    .values(team_id=into.id).execution_options(synchronize_session=False))
    absorbed_id = absorbed.id
    session.expunge(absorbed)
    session.execute(delete(Team).where(Team.id == absorbed_id).execution_options(synchronize_session=False))
    refresh_team_best(session, challenge.id, into.id, now=now)


def leave_team(session: Session, challenge: Challenge, user: User, *, now: datetime | None = None) -> None:
    """Leave a team that has not submitted yet; its last member leaving dissolves it."""
    now = now or utcnow()
    _check_open(challenge, now)
    team = team_for(session, challenge, user, create=False)
    if team is None:
        raise NotFound("You are not in a team in this challenge.", field="team")
    if _has_submissions(session, team.id):
        raise Forbidden("A team that has submitted is fixed: its members cannot leave it (teams can still merge).",
                        code="team_fixed", field="team")
    was_leader = leader_id(session, team) == user.id
    session.execute(delete(TeamMembership).where(TeamMembership.team_id == team.id,
                                                 TeamMembership.user_id == user.id))
    remaining = _members(session, team.id)
    if not remaining:
        session.expunge(team)
        session.execute(delete(Team).where(Team.id == team.id).execution_options(synchronize_session=False))
    elif was_leader:
        team.leader_id = remaining[0][0]
    session.commit()


def _new_code() -> str:
    return secrets.token_urlsafe(12)
