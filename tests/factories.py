"""Small builders for test data: rows as the services would create them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from sqlalchemy.orm import Session

from heldout.models import (
    Challenge,
    ChallengeStatus,
    Submission,
    SubmissionStatus,
    Team,
    TeamMembership,
    User,
)

_n = count(1)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def make_user(session: Session, name: str | None = None, **extra) -> User:
    user = User(username=name or f"user{next(_n)}", password_hash="x", **extra)
    session.add(user)
    session.flush()
    return user


def make_challenge(session: Session, slug: str | None = None, *, greater_is_better: bool = False,
                   metric: str = "rmse", **extra) -> Challenge:
    values = dict(slug=slug or f"challenge-{next(_n)}", title="A challenge", task_type="regression",
                  metric=metric, greater_is_better=greater_is_better,
                  scoring_spec={"metric": metric, "task_type": "regression", "id_column": "id",
                                "target_columns": ["y"]},
                  status=ChallengeStatus.PUBLISHED, content_hash="c" * 64, solution_hash="s" * 64,
                  solution_key="challenges/x/solution.csv", daily_limit=5)
    values.update(extra)
    challenge = Challenge(**values)
    session.add(challenge)
    session.flush()
    return challenge


def make_team(session: Session, challenge: Challenge, *users: User, name: str | None = None) -> Team:
    team = Team(challenge_id=challenge.id, name=name or f"team{next(_n)}")
    session.add(team)
    session.flush()
    for user in users:
        session.add(TeamMembership(team_id=team.id, challenge_id=challenge.id, user_id=user.id))
    session.flush()
    return team


def make_submission(session: Session, team: Team, user: User, *, status=SubmissionStatus.QUEUED,
                    public_score: float | None = None, at: datetime | None = None, **extra) -> Submission:
    at = at or T0 + timedelta(minutes=next(_n))
    submission = Submission(challenge_id=team.challenge_id, team_id=team.id, user_id=user.id, status=status,
                            filename="sub.csv", file_key=f"submissions/{next(_n)}.upload", file_size=10,
                            public_score=public_score, created_at=at, queued_at=at, attempts=1, **extra)
    session.add(submission)
    session.flush()
    return submission


# --- leaderboards, teams and study groups ------------------------------------------------------------------

def make_scored(session: Session, team: Team, user: User, public: float, private: float | None = None, *,
                at: datetime | None = None, ci: tuple[float, float] | None = None, **extra) -> Submission:
    """A scored submission, as the runner leaves it (call leaderboard.best.refresh_team_best to rank it)."""
    if ci is not None:
        extra.update(public_ci_low=ci[0], public_ci_high=ci[1])
    return make_submission(session, team, user, status=SubmissionStatus.SCORED, public_score=public,
                           private_score=private, at=at, **extra)


def make_group(session: Session, lead: User, *members: User, name: str | None = None):  # noqa: ANN201
    from heldout.models import GroupMembership, StudyGroup

    n = next(_n)
    group = StudyGroup(name=name or f"Group {n}", slug=f"group-{n}", lead_id=lead.id, invite_code=f"invite-{n}")
    session.add(group)
    session.flush()
    for user in (lead, *members):
        session.add(GroupMembership(group_id=group.id, user_id=user.id))
    session.flush()
    return group
