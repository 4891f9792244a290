"""Who is in which team, and when the day's submission quota starts: what the submission, team,
leaderboard and rules services all ask.

A solo entrant is a team of one, made on their first submission (``team_for``);
the daily quota counts from 00:00 UTC (``utc_day_start``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.models import Challenge, Team, TeamMembership, User


def utc_day_start(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def team_for(session: Session, challenge: Challenge, user: User, *, create: bool = True) -> Team | None:
    """The user's team in this challenge; a solo entrant gets a team of one."""
    team = session.scalar(select(Team).join(TeamMembership, TeamMembership.team_id == Team.id)
                          .where(TeamMembership.challenge_id == challenge.id, TeamMembership.user_id == user.id))
    if team is not None or not create:
        return team
    name = user.username
    if session.scalar(select(Team.id).where(Team.challenge_id == challenge.id, Team.name == name)) is not None:
        name = f"{user.username}-{user.id}"
    team = Team(challenge_id=challenge.id, name=name)
    session.add(team)
    session.flush()
    session.add(TeamMembership(team_id=team.id, challenge_id=challenge.id, user_id=user.id))
    session.flush()
    return team
