"""Write-ups: the organizer's (the bundle's ``writeup.md``, or written on the site) and each team's short note on its
final submissions. Nobody but their authors reads them until the private leaderboard is revealed (the reveal rule
of ``leaderboards.private_visible``); then the challenge page and the API list them next to the private ranks.

A team's own members always read and edit their team's write-up (``TeamView.writeup``); the organizer edits theirs
on the organizer page. Both are Markdown, shown sanitized (``platform.markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.leaderboard import private
from heldout.leaderboard.finals import team_finals
from heldout.models import Challenge, Team, User, utcnow
from heldout.platform.services import identity
from heldout.platform.services.errors import Forbidden, ServiceError
from heldout.platform.services.leaderboards import ensure_private_standings, private_visible
from heldout.platform.services.membership import team_for

# "A short write-up": a few screens of Markdown. The organizer's may be a full solution walk-through.
TEAM_WRITEUP_MAX_CHARS = 10_000
ORGANIZER_WRITEUP_MAX_CHARS = 100_000


@dataclass(frozen=True)
class TeamWriteup:
    team_id: int
    team: str
    markdown: str
    # The team's place on the private board; None when it has no row there (no scored final).
    rank: int | None
    private_score: float | None
    is_mine: bool = False


@dataclass(frozen=True)
class Writeups:
    organizer: str | None
    teams: list[TeamWriteup]

    @property
    def any(self) -> bool:
        return bool(self.organizer or self.teams)


def hidden_message(challenge: Challenge) -> str:
    until = f" at {challenge.ends_at:%Y-%m-%d %H:%M:%S} UTC" if challenge.ends_at else ""
    return f"Write-ups are hidden until the private leaderboard is revealed, when the challenge ends{until}."


def writeups(session: Session, challenge: Challenge, viewer: User | None, *, now: datetime | None = None) -> Writeups:
    """The organizer's write-up and every team's, best private rank first; refused before the reveal."""
    now = now or utcnow()
    if not private_visible(challenge, now):
        raise Forbidden(hidden_message(challenge), code="private_hidden", field="writeups")
    ensure_private_standings(session, challenge, now)
    ranks = {r.team_id: r for r in private.private_leaderboard(session, challenge)}
    mine = team_for(session, challenge, viewer, create=False) if viewer is not None else None
    written = session.execute(select(Team.id, Team.name, Team.writeup_md).where(
        Team.challenge_id == challenge.id, Team.writeup_md.is_not(None), Team.writeup_md != "")).all()
    # A study group's pseudonymous or anonymous board names the teams by their members' labels here too.
    names = identity.team_names(session, challenge, viewer)
    teams = [TeamWriteup(team_id=team_id, team=names.of(team_id, name) if names else name, markdown=text,
                         rank=ranks[team_id].rank if team_id in ranks else None,
                         private_score=ranks[team_id].private_score if team_id in ranks else None,
                         is_mine=mine is not None and mine.id == team_id)
             for team_id, name, text in written]
    teams.sort(key=lambda w: (w.rank is None, w.rank or 0, w.team))
    return Writeups(organizer=challenge.writeup_md or None, teams=teams)


def _clean(text: str | None, limit: int, field: str) -> str | None:
    text = (text or "").strip()
    if len(text) > limit:
        raise ServiceError(f"A write-up is at most {limit:,} characters; this one has {len(text):,}.", field=field,
                           code="too_long")
    return text or None


def set_team_writeup(session: Session, challenge: Challenge, user: User, text: str | None) -> Team:
    """Attach (or, with blank text, remove) the user's team's write-up of its final submissions."""
    cleaned = _clean(text, TEAM_WRITEUP_MAX_CHARS, "writeup")
    team = team_for(session, challenge, user, create=False)
    if team is None or (cleaned is not None and not team_finals(session, challenge, team.id)):
        raise ServiceError("Your team has no scored final submission to attach a write-up to yet.", field="writeup",
                           code="no_finals")
    team.writeup_md = cleaned
    session.commit()
    return team


def set_organizer_writeup(session: Session, challenge: Challenge, text: str | None) -> None:
    """The organizer's write-up (the caller checked that the user manages the challenge); blank removes it."""
    challenge.writeup_md = _clean(text, ORGANIZER_WRITEUP_MAX_CHARS, "writeup_md")
    session.commit()
