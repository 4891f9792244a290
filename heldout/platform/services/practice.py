"""The practice roadmap: the topics in roadmap order, their challenges, and how far the viewer got on each.

The marks are heldout.leaderboard.progress's; this module only gathers the
viewer's team rows. Scores are the ones the team's own pages show
(released_public_scores: rounded or laddered as the board shows them), and the
rank is the team's row on the public board, which holds no host or late
submission.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.challenges.bundle_schema import DIFFICULTIES, TOPICS
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.progress import Progress, baseline_score, best_score, progress
from heldout.leaderboard.public import best_rank, count_teams
from heldout.leaderboard.released import released_public_scores
from heldout.models import (
    Challenge,
    ChallengeStatus,
    Submission,
    SubmissionStatus,
    TeamBestScore,
    TeamMembership,
    User,
)
from heldout.platform.services import catalog


@dataclass(frozen=True)
class RoadmapChallenge:
    challenge: Challenge
    # None for a visitor who is not logged in: there is nobody's progress to show.
    progress: Progress | None
    best_score: float | None = None
    baseline: float | None = None
    rank: int | None = None
    teams: int = 0

    @property
    def precision(self) -> int:
        """Decimals the challenge's board prints a score with (a rounded board's digits)."""
        return BoardMode.of(self.challenge).precision


@dataclass(frozen=True)
class RoadmapTopic:
    topic: str
    challenges: list[RoadmapChallenge]


@dataclass(frozen=True)
class Roadmap:
    topics: list[RoadmapTopic]
    signed_in: bool
    # Published challenges the viewer may see that declare no topic (they are not on the roadmap).
    off_roadmap: int

    @property
    def counts(self) -> dict[Progress, int]:
        """How many of the roadmap's challenges carry each mark."""
        out = {mark: 0 for mark in Progress}
        for topic in self.topics:
            for row in topic.challenges:
                if row.progress is not None:
                    out[row.progress] += 1
        return out


def challenge_baseline(challenge: Challenge) -> float | None:
    """The score to beat on ``challenge`` (leaderboard.progress.baseline_score), None without a baseline."""
    declared = (challenge.rules or {}).get("baseline") or {}
    report = challenge.baseline_report or {}
    measured = report.get("public_score") if challenge.baseline_state == "passed" else None
    if not declared and measured is None:
        return None
    return baseline_score(bool(challenge.greater_is_better), declared.get("score_min"), declared.get("score_max"),
                          measured)


def roadmap(session: Session, viewer: User | None) -> Roadmap:
    visible = [c for c in catalog.list_challenges(session, viewer) if c.status == ChallengeStatus.PUBLISHED]
    on_map = [c for c in visible if c.topic in TOPICS]
    teams = _teams_of(session, viewer, [c.id for c in on_map])
    by_topic: dict[str, list[RoadmapChallenge]] = defaultdict(list)
    for challenge in on_map:
        by_topic[str(challenge.topic)].append(
            _mark(session, challenge, teams.get(challenge.id)) if viewer is not None
            else RoadmapChallenge(challenge, None, baseline=challenge_baseline(challenge)))
    level = {name: i for i, name in enumerate(DIFFICULTIES)}
    topics = [RoadmapTopic(topic, sorted(by_topic.get(topic, []),
                                         key=lambda r: (level.get(r.challenge.difficulty, len(level)),
                                                        r.challenge.title.lower(), r.challenge.slug)))
              for topic in TOPICS]
    return Roadmap(topics=topics, signed_in=viewer is not None, off_roadmap=len(visible) - len(on_map))


def _teams_of(session: Session, viewer: User | None, challenge_ids: list[int]) -> dict[int, int]:
    """The viewer's team in each of the challenges, by challenge id."""
    if viewer is None or not challenge_ids:
        return {}
    rows = session.execute(select(TeamMembership.challenge_id, TeamMembership.team_id)
                           .where(TeamMembership.user_id == viewer.id,
                                  TeamMembership.challenge_id.in_(challenge_ids))).all()
    return {challenge_id: team_id for challenge_id, team_id in rows}


def _mark(session: Session, challenge: Challenge, team_id: int | None) -> RoadmapChallenge:
    baseline = challenge_baseline(challenge)
    if team_id is None:
        return RoadmapChallenge(challenge, Progress.NOT_TRIED, baseline=baseline)
    made = list(session.scalars(select(Submission).where(Submission.team_id == team_id)))
    scored = [s for s in made if s.status == SubmissionStatus.SCORED and s.public_score is not None]
    best = best_score(released_public_scores(session, scored).values(), bool(challenge.greater_is_better))
    row = session.get(TeamBestScore, (challenge.id, team_id))
    rank = best_rank(session, row) if row is not None else None
    teams = count_teams(session, challenge) if row is not None else 0
    mark = progress(tried=bool(made), best=best, baseline=baseline, rank=rank, teams=teams,
                    greater_is_better=bool(challenge.greater_is_better))
    return RoadmapChallenge(challenge, mark, best_score=best, baseline=baseline, rank=rank, teams=teams)
