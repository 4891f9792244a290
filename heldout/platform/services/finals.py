"""Selecting the final submissions that count on the private leaderboard.

A team picks up to the challenge's number of scored submissions before the
challenge ends; one that picks none gets its best public ones (as on Kaggle).
Only a member of the team can see or change its selection: anyone else gets
"not found", never "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.leaderboard.best import invalidate_private_board, lock_teams
from heldout.leaderboard.finals import team_finals
from heldout.leaderboard.released import released_public_scores
from heldout.models import (
    Challenge,
    Submission,
    SubmissionStatus,
    Team,
    TeamMembership,
    User,
    utcnow,
)
from heldout.platform.services import extensions
from heldout.platform.services.errors import (
    Forbidden,
    LimitReached,
    NotFound,
    ServiceError,
)


@dataclass(frozen=True)
class FinalCandidate:
    submission_id: int
    filename: str
    message: str
    submitted_at: datetime
    public_score: float | None
    selected: bool
    # Whether it counts on the private board as things stand (selected, or chosen automatically).
    counts: bool


@dataclass(frozen=True)
class FinalsView:
    max_finals: int
    selected: int
    # True when the team selected nothing and its best public submissions will count.
    automatic: bool
    # Selections are fixed once the challenge has ended.
    closed: bool
    closes_at: datetime | None
    candidates: list[FinalCandidate]


def parse_selected(raw: str | bool | None) -> bool:
    """A form or JSON value for "selected": true/false, 1/0, yes/no, on/off."""
    if isinstance(raw, bool):
        return raw
    value = (raw or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ServiceError("selected must be true or false.", field="selected")


def selection_closed(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> bool:
    """Whether finals are fixed: past the end that applies (``ends_at``: a member's own, from
    services.extensions; the challenge's unless given)."""
    end = ends_at if ends_at is not None else challenge.ends_at
    return end is not None and now >= end


def finals_view(session: Session, challenge: Challenge, team: Team | None, *,
                now: datetime | None = None, viewer: User | None = None) -> FinalsView:
    """The team's scored submissions with what is selected and what will count (until the viewer's own end)."""
    now = now or utcnow()
    end = extensions.counting_end(session, challenge, viewer)
    closed = selection_closed(challenge, now, end)
    if team is None:
        return FinalsView(challenge.max_final_submissions, 0, True, closed, end, [])
    counting = {c.submission_id for c in team_finals(session, challenge, team.id)}
    # Late submissions are never candidates: they cannot be finals.
    scored = session.scalars(select(Submission).where(
        Submission.team_id == team.id, Submission.status == SubmissionStatus.SCORED, Submission.late.is_(False))
        .order_by(Submission.created_at.desc(), Submission.id.desc())).all()
    selected = sum(1 for s in scored if s.selected_final)
    released = released_public_scores(session, scored)
    return FinalsView(
        max_finals=challenge.max_final_submissions, selected=selected, automatic=selected == 0, closed=closed,
        closes_at=end,
        candidates=[FinalCandidate(submission_id=s.id, filename=s.filename, message=s.message,
                                   submitted_at=s.created_at, public_score=released.get(s.id),
                                   selected=s.selected_final, counts=s.id in counting) for s in scored])


def _own_submission(session: Session, user: User, submission_id: int) -> Submission:
    # Team membership only, even for admins: a selection is the team's own decision.
    submission = session.get(Submission, submission_id)
    if submission is None or session.scalar(select(TeamMembership.id).where(
            TeamMembership.team_id == submission.team_id, TeamMembership.user_id == user.id)) is None:
        raise NotFound("No such submission.", field="submission")
    return submission


def set_final(session: Session, user: User, submission_id: int, selected: bool | str | None, *,
              now: datetime | None = None) -> Submission:
    """Select a submission as final, or unselect it (``selected`` as a bool or a form value)."""
    now = now or utcnow()
    submission = _own_submission(session, user, submission_id)
    selected = parse_selected(selected)
    challenge = session.get(Challenge, submission.challenge_id)
    end = extensions.counting_end(session, challenge, user)
    if selection_closed(challenge, now, end):
        raise Forbidden(f"Final submissions were fixed when the challenge closed at "
                        f"{end:%Y-%m-%d %H:%M:%S} UTC.", code="closed", field="selected")
    if selected == submission.selected_final:
        return submission
    if selected and submission.status != SubmissionStatus.SCORED:
        raise ServiceError(f"Only a scored submission can be final; this one is {submission.status.value}.",
                           field="submission", code="not_scored")
    if selected and submission.host:
        raise ServiceError("A host submission is never ranked, so it cannot be a final submission.",
                           field="submission", code="host")
    if selected and submission.late:
        raise ServiceError("A late submission is never ranked, so it cannot be a final submission.",
                           field="submission", code="late")
    # Lock the team: two selections made at once cannot both fit under the limit, and a private-board
    # reader waits for this change (see leaderboard.private.recompute).
    lock_teams(session, submission.team_id)
    if selected:
        count = session.scalar(select(func.count(Submission.id)).where(
            Submission.team_id == submission.team_id, Submission.selected_final.is_(True))) or 0
        if count >= challenge.max_final_submissions:
            session.rollback()
            raise LimitReached(f"Your team has already selected {count} of {challenge.max_final_submissions} "
                               "final submissions; unselect one first.", field="selected", code="final_limit")
    submission.selected_final = selected
    invalidate_private_board(session, challenge.id)
    session.commit()
    return submission
