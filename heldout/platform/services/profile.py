"""A user's own account page: their practice roadmap, the challenges they entered with their team's best
public score and rank, and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.leaderboard.public import best_rank
from heldout.models import ApiToken, Challenge, Submission, Team, TeamBestScore, TeamMembership, User
from heldout.platform.services import catalog, practice


@dataclass(frozen=True)
class Entry:
    challenge: Challenge
    team_name: str
    submissions: int
    best_score: float | None
    rank: int | None
    teams_ranked: int


@dataclass(frozen=True)
class AccountPage:
    user: User
    entries: list[Entry]
    tokens: list[ApiToken]
    roadmap: practice.Roadmap


def account_page(session: Session, user: User) -> AccountPage:
    return AccountPage(user=user, entries=entries(session, user), tokens=api_tokens(session, user),
                       roadmap=practice.roadmap(session, user))


def api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, live ones first; only names and dates: the tokens themselves are never stored."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                          ApiToken.id.desc())))


def entries(session: Session, user: User) -> list[Entry]:
    """Every challenge the user has a team in and may still see, newest challenge first."""
    visible = {c.id: c for c in catalog.list_challenges(session, user)}
    teams = session.execute(select(TeamMembership.challenge_id, Team)
                            .join(Team, Team.id == TeamMembership.team_id)
                            .where(TeamMembership.user_id == user.id)).all()
    out = []
    for challenge_id, team in teams:
        challenge = visible.get(challenge_id)
        if challenge is None:
            continue
        best = session.get(TeamBestScore, (challenge_id, team.id))
        count = session.scalar(select(func.count(Submission.id)).where(Submission.team_id == team.id)) or 0
        ranked = session.scalar(select(func.count()).select_from(TeamBestScore)
                                .where(TeamBestScore.challenge_id == challenge_id)) or 0
        out.append(Entry(challenge=challenge, team_name=team.name, submissions=count,
                         best_score=best.public_score if best else None,
                         rank=best_rank(session, best) if best else None, teams_ranked=ranked))
    order = list(visible)
    return sorted(out, key=lambda e: order.index(e.challenge.id))
