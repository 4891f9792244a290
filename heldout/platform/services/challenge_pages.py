"""What the challenge list and a challenge's page show beyond the challenge row itself:
its phase (upcoming, active, closed), time left, team count, the viewer's team and
submissions, the day's remaining quota, and a peek at the sample submission."""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from heldout.challenges.metrics import UnknownMetric, get_metric
from heldout.models import Challenge, Submission, Team, User, utcnow
from heldout.leaderboard.hosts import unranked_only_teams
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.released import released_public_scores
from heldout.platform.services import catalog, submissions, validation
from heldout.platform.services.extensions import MyDeadline, my_deadline
from heldout.platform.services.rules import Rules, challenge_rules
from heldout.platform.services.errors import ServiceError
from heldout.platform.services.submission_format import SubmissionFormat, submission_format
from heldout.platform.services.membership import team_for
from heldout.storage import Storage

SAMPLE_ROWS = 5
SAMPLE_MAX_BYTES = 64 * 1024
MY_SUBMISSIONS_SHOWN = 50


class Phase(str, enum.Enum):
    UPCOMING = "upcoming"
    ACTIVE = "active"
    CLOSED = "closed"


def phase_of(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> Phase:
    """The challenge's phase; ``ends_at`` is the end that applies to the viewer (services.extensions), when
    it is not the challenge's own."""
    end = ends_at if ends_at is not None else challenge.ends_at
    if challenge.starts_at is not None and now < challenge.starts_at:
        return Phase.UPCOMING
    if end is not None and now >= end:
        return Phase.CLOSED
    return Phase.ACTIVE


def takes_late_submissions(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> bool:
    """Past its end, and still taking submissions: marked late, never ranked (leaderboard.late)."""
    return phase_of(challenge, now, ends_at) == Phase.CLOSED and bool(challenge.late_submissions)


def takes_submissions(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> bool:
    """Whether a submission made now is taken (on time or late); ``ends_at`` as for :func:`phase_of`: the end that
    applies to the submitter (services.extensions.counting_end), when it is not the challenge's own."""
    return phase_of(challenge, now, ends_at) == Phase.ACTIVE or takes_late_submissions(challenge, now, ends_at)


def describe_wait(delta: timedelta) -> str:
    """A short, rounded-down duration: "3 days", "5 hours", "12 minutes"."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def time_left(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> str | None:
    end = ends_at if ends_at is not None else challenge.ends_at
    phase = phase_of(challenge, now, end)
    if phase == Phase.UPCOMING:
        return f"opens in {describe_wait(challenge.starts_at - now)}"
    if phase == Phase.CLOSED:
        return "closed"
    if end is None:
        return None
    return f"{describe_wait(end - now)} left"


@dataclass(frozen=True)
class ChallengeCard:
    challenge: Challenge
    phase: Phase
    team_count: int
    time_left: str | None


def challenge_cards(session: Session, user: User | None, phase: str | None = None,
                    now: datetime | None = None) -> list[ChallengeCard]:
    """The challenges the user may see, optionally only those in one phase."""
    now = now or utcnow()
    wanted = _parse_phase(phase)
    challenges = [c for c in catalog.list_challenges(session, user)
                  if wanted is None or phase_of(c, now) == wanted]
    counts = team_counts(session, [c.id for c in challenges])
    return [ChallengeCard(c, phase_of(c, now), counts.get(c.id, 0), time_left(c, now)) for c in challenges]


def _parse_phase(phase: str | None) -> Phase | None:
    if not phase:
        return None
    try:
        return Phase(phase)
    except ValueError:
        raise ServiceError(f"Unknown phase {phase!r}: choose active, upcoming or closed.", field="phase") from None


def team_counts(session: Session, challenge_ids: list[int]) -> dict[int, int]:
    """Teams per challenge; a team with only unranked submissions (a host's own, or late ones) is not one."""
    if not challenge_ids:
        return {}
    counts = dict(session.execute(select(Team.challenge_id, func.count(Team.id))
                                  .where(Team.challenge_id.in_(challenge_ids)).group_by(Team.challenge_id)).all())
    for challenge_id, n in session.execute(_UNRANKED_ONLY_TEAMS, {"ids": list(challenge_ids)}):
        counts[challenge_id] -= n
    return counts


# Counted apart and subtracted: the few unranked teams, found from the host and late submissions alone
# (leaderboard.hosts).
_UNRANKED_ONLY_TEAMS = (select(Team.challenge_id, func.count(Team.id))
                    .where(Team.challenge_id.in_(bindparam("ids", expanding=True)), Team.id.in_(unranked_only_teams()))
                    .group_by(Team.challenge_id))


@dataclass(frozen=True)
class SampleFile:
    name: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ChallengePage:
    challenge: Challenge
    phase: Phase
    time_left: str | None
    team_count: int
    metric_summary: str
    format_columns: list[str]
    format: SubmissionFormat
    sample: SampleFile | None
    team: Team | None
    submissions: list[Submission]
    remaining: int | None
    released: dict[int, float | None]  # the public score each of ``submissions`` shows (the board's mode)
    score_precision: int
    rules: Rules
    # The viewer's own end: an extension, or an early reveal that cut it short (theirs alone; None: a visitor).
    deadline: MyDeadline | None = None
    # The team's validation scores against the board's (None without a team).
    validation: validation.ValidationView | None = None


def challenge_page(session: Session, storage: Storage, challenge: Challenge, user: User | None,
                   now: datetime | None = None) -> ChallengePage:
    now = now or utcnow()
    team = team_for(session, challenge, user, create=False) if user is not None else None
    mine = submissions.team_submissions(session, challenge, user)[:MY_SUBMISSIONS_SHOWN] if team else []
    remaining = submissions.remaining_today(session, challenge, user, now) if user is not None else None
    deadline = my_deadline(session, challenge, user, now) if user is not None else None
    end = deadline.counts_until if deadline is not None else None
    left = time_left(challenge, now, end)
    return ChallengePage(
        challenge=challenge, phase=phase_of(challenge, now, end), time_left=left, deadline=deadline,
        team_count=team_counts(session, [challenge.id]).get(challenge.id, 0),
        metric_summary=metric_summary(challenge.metric), format_columns=format_columns(challenge),
        format=submission_format(challenge), sample=read_sample(storage, challenge), team=team, submissions=mine,
        remaining=remaining, released=released_public_scores(session, mine),
        score_precision=BoardMode.of(challenge).precision,
        # The Rules panel speaks of the challenge; the viewer's own end (an extension) is said beside it.
        rules=challenge_rules(challenge, time_left=time_left(challenge, now), remaining_today=remaining, now=now),
        validation=validation.validation_view(session, challenge, user) if team is not None else None,
    )


def metric_summary(name: str) -> str:
    try:
        return get_metric(name).summary
    except UnknownMetric:
        return ""


def format_columns(challenge: Challenge) -> list[str]:
    """The columns a predictions file holds, in order, from the challenge's scoring spec."""
    spec = challenge.scoring_spec or {}
    return [spec.get("id_column", "id"), *(spec.get("target_columns") or [])]


def read_sample(storage: Storage, challenge: Challenge) -> SampleFile | None:
    """The first rows of the challenge's sample submission, if it ships one."""
    candidates = [f for f in challenge.files if "sample" in f.name.lower() and f.name.lower().endswith(".csv")]
    if not candidates:
        return None
    sample = candidates[0]
    try:
        with storage.open(sample.storage_key) as handle:
            head = handle.read(SAMPLE_MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = head.splitlines()[: SAMPLE_ROWS + 1]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows:
        return None
    return SampleFile(name=sample.name, header=rows[0], rows=rows[1:])
