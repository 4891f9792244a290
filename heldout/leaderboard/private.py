"""The private leaderboard and its shake-up, computed once and stored.

Each team is ranked by the best private score among its final submissions
(``finals``); ties go to the earlier submission, then the lower id. The
shake-up is the team's public rank minus its private rank.

Computing it reads every scored submission of the challenge, so it is done when
the stored standings are stale (``is_current``), not per request: the service
calls ``track_changes``, commits, then ``recompute`` and commits again. Nothing
here decides who may see the result: ``platform.services.leaderboards`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.finals import all_finals
from heldout.leaderboard.public import group_teams, public_ranks
from heldout.leaderboard.ranking import Entry, best_entry, entry_key, shake_up
from heldout.leaderboard.sql import insert_if_absent
from heldout.models import Challenge, PrivateBoardState, PrivateStanding, Team, utcnow


@dataclass(frozen=True)
class PrivateRow:
    rank: int
    team_id: int
    team_name: str
    private_score: float
    submission_id: int
    public_rank: int | None
    # Places gained from the public to the private board (positive = climbed).
    shake_up: int | None
    group_rank: int | None = None


def compute_standings(session: Session, challenge: Challenge) -> list[dict]:
    """Each team's private row, best first, as plain values ready to store."""
    gib = challenge.greater_is_better
    team_best: dict[int, Entry] = {}
    for team_id, finals in all_finals(session, challenge).items():
        best = best_entry((Entry(c.submission_id, c.private_score, c.submitted_at)
                           for c in finals if c.private_score is not None), gib)
        if best is not None:
            team_best[team_id] = best
    public = public_ranks(session, challenge)
    ordered = sorted(team_best.items(), key=lambda item: entry_key(item[1], gib))
    return [{"challenge_id": challenge.id, "team_id": team_id, "rank": rank, "private_score": entry.score,
             "submission_id": entry.submission_id, "public_rank": public.get(team_id)}
            for rank, (team_id, entry) in enumerate(ordered, start=1)]


def is_current(session: Session, challenge: Challenge) -> bool:
    state = session.execute(select(PrivateBoardState.generation, PrivateBoardState.computed_generation,
                                   PrivateBoardState.challenge_version)
                            .where(PrivateBoardState.challenge_id == challenge.id)).first()
    return (state is not None and state.computed_generation == state.generation
            and state.challenge_version == challenge.version)


def track_changes(session: Session, challenge_id: int) -> None:
    """Make sure changes to the challenge are counted from now on (the state row exists); the caller commits."""
    insert_if_absent(session, PrivateBoardState.__table__, {"challenge_id": challenge_id, "generation": 0})


def recompute(session: Session, challenge: Challenge, *, now: datetime | None = None) -> int:
    """Recompute and store the standings unless another reader just did; returns the rows stored.

    Readers serialise on the challenge row (workers never lock it), so two of them
    do not store the same standings twice. Then a shared lock on every team of the
    challenge waits for the changes in flight (each locks its team before it marks
    the standings stale) and holds new ones back until this is stored; those then
    find the state row and mark it stale. The generation is read after that, so
    nothing committed is missed and nothing later passes for current.
    """
    session.execute(select(Challenge.id).where(Challenge.id == challenge.id).with_for_update())
    if is_current(session, challenge):
        return 0
    session.execute(select(Team.id).where(Team.challenge_id == challenge.id).with_for_update(read=True))
    generation = session.scalar(select(PrivateBoardState.generation)
                                .where(PrivateBoardState.challenge_id == challenge.id))
    rows = compute_standings(session, challenge)
    session.execute(delete(PrivateStanding).where(PrivateStanding.challenge_id == challenge.id)
                    .execution_options(synchronize_session=False))
    if rows:
        # Core executemany (batched multi-row VALUES): the ORM's bulk path is several times slower here.
        session.connection().execute(insert(PrivateStanding.__table__), rows)  # type: ignore[arg-type]
    session.execute(update(PrivateBoardState).where(PrivateBoardState.challenge_id == challenge.id)
                    .values(computed_generation=generation, challenge_version=challenge.version,
                            computed_at=now or utcnow())
                    .execution_options(synchronize_session=False))
    return len(rows)


def private_leaderboard(session: Session, challenge: Challenge, *, limit: int | None = None, offset: int = 0,
                        group_id: int | None = None) -> list[PrivateRow]:
    """The stored standings (see ``recompute``), optionally only a study group's teams."""
    standing = PrivateStanding
    # Plain columns, not entities: the rows were just rewritten in bulk, behind the identity map's back.
    query = (select(standing.rank, standing.team_id, Team.name, standing.private_score, standing.submission_id,
                    standing.public_rank).join(Team, Team.id == standing.team_id)
             .where(PrivateStanding.challenge_id == challenge.id).order_by(PrivateStanding.rank))
    if group_id is not None:
        query = query.where(PrivateStanding.team_id.in_(group_teams(challenge.id, group_id)))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [PrivateRow(rank=s.rank, team_id=s.team_id, team_name=s.name, private_score=s.private_score,
                       submission_id=s.submission_id, public_rank=s.public_rank,
                       shake_up=shake_up(s.public_rank, s.rank),
                       group_rank=None if group_id is None else position)
            for position, s in enumerate(session.execute(query), start=offset + 1)]


def count_standings(session: Session, challenge: Challenge, *, group_id: int | None = None) -> int:
    query = select(func.count()).select_from(PrivateStanding).where(PrivateStanding.challenge_id == challenge.id)
    if group_id is not None:
        query = query.where(PrivateStanding.team_id.in_(group_teams(challenge.id, group_id)))
    return session.scalar(query) or 0
