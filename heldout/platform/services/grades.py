"""A study group's grades for one of its challenges: one row per member, for the lead to download as CSV.

Each row: the member's username and display name (from the roster), their team, the team's best public
score, its private score and private rank, the statistical tie band of that private score
(``leaderboard.ranking.tie_bands`` over the private board's bootstrap intervals), and how many submissions
the member made and whether any was late. Only the group's lead (or an admin) may read it; to another
group's lead the challenge does not exist. The lead is a host, so the grades exist before the private board
is revealed too, marked provisional: the finals may still change, and so may everything derived from them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from heldout.leaderboard.hosts import ranked_submissions
from heldout.leaderboard.ranking import tie_bands
from heldout.models import (
    Challenge,
    GroupMembership,
    PrivateStanding,
    RosterEntry,
    Submission,
    SubmissionStatus,
    Team,
    TeamMembership,
    User,
    utcnow,
)
from heldout.platform.services.errors import NotFound
from heldout.platform.services.groups import lead_group
from heldout.platform.services.leaderboards import ensure_private_standings, private_visible
from heldout.platform.services.spreadsheets import spreadsheet_text

COLUMNS = ("username", "display_name", "team", "best_public_score", "private_score", "private_rank", "tie_band",
           "submissions", "late", "on_extension", "provisional")


@dataclass(frozen=True)
class GradeRow:
    username: str
    display_name: str
    team: str | None
    best_public_score: float | None
    private_score: float | None
    private_rank: int | None
    tie_band: int | None
    submissions: int
    # Whether any of the member's submissions came after the end (heldout.leaderboard.late: scored, never
    # ranked), or on an extension: None while this Heldout has no extensions to report.
    late: bool = False
    on_extension: bool | None = None


@dataclass(frozen=True)
class GradeSheet:
    group_slug: str
    challenge_slug: str
    # The private board is not revealed yet: private scores, ranks and bands may still change.
    provisional: bool
    rows: list[GradeRow]


def grade_sheet(session: Session, viewer: User, group_slug: str, challenge_slug: str, *,
                now: datetime | None = None) -> GradeSheet:
    now = now or utcnow()
    group = lead_group(session, viewer, group_slug)
    challenge = session.scalar(select(Challenge).where(Challenge.slug == challenge_slug,
                                                       Challenge.group_id == group.id))
    if challenge is None:
        raise NotFound(f"The group has no challenge {challenge_slug!r}.", field="challenge")
    members = session.execute(
        select(User.id, User.username, User.email).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group.id, User.id != group.lead_id)).all()
    names = _display_names(session, group.id)
    teams = {uid: (team_id, name) for uid, team_id, name in session.execute(
        select(TeamMembership.user_id, Team.id, Team.name).join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.challenge_id == challenge.id))}
    best = _best_public(session, challenge)
    standings = _private_standings(session, challenge, now)
    counts = {uid: (made, late) for uid, made, late in session.execute(
        select(Submission.user_id, func.count(Submission.id), func.count(case((Submission.late, 1))))
        .where(Submission.challenge_id == challenge.id).group_by(Submission.user_id))}
    extended = _counted_on_extension(session, challenge)
    rows = []
    for member in members:
        team_id, team_name = teams.get(member.id, (None, None))
        rank, score, band = standings.get(team_id, (None, None, None)) if team_id is not None else (None,) * 3
        rows.append(GradeRow(
            username=member.username,
            # Not by email: an account's address is unverified, and would give it a classmate's roster name.
            display_name=names.get(("id", member.id)) or names.get(("u", member.username.lower())) or "",
            team=team_name, best_public_score=best.get(team_id) if team_id is not None else None,
            private_score=score, private_rank=rank, tie_band=band, submissions=counts.get(member.id, (0, 0))[0],
            late=counts.get(member.id, (0, 0))[1] > 0,
            on_extension=None if extended is None else member.id in extended))
    rows.sort(key=lambda r: (r.private_rank is None, r.private_rank or 0, r.username.lower()))
    return GradeSheet(group_slug=group.slug, challenge_slug=challenge.slug,
                      provisional=not private_visible(challenge, now), rows=rows)


def _counted_on_extension(session: Session, challenge: Challenge) -> set[int] | None:
    """The members with a submission that counted after the challenge's end, on their own extension
    (services.extensions); None when the challenge has no extension to report."""
    if challenge.ends_at is None or challenge.extended_until is None:
        return None
    return set(session.scalars(select(Submission.user_id).distinct().where(
        Submission.challenge_id == challenge.id, Submission.late.is_(False), Submission.host.is_(False),
        Submission.created_at >= challenge.ends_at)))


def _display_names(session: Session, group_id: int) -> dict[tuple, str]:
    """Display names from the roster, by the account that took the row and by the row's username or email."""
    names: dict[tuple, str] = {}
    for entry in session.scalars(select(RosterEntry).where(RosterEntry.group_id == group_id,
                                                           RosterEntry.display_name != "")):
        if entry.user_id is not None:
            names[("id", entry.user_id)] = entry.display_name
        kind, _, value = entry.key.partition(":")
        names.setdefault((kind, value), entry.display_name)
    return names


def _best_public(session: Session, challenge: Challenge) -> dict[int, float]:
    """Each team's best public score, exactly (the lead sees every digit, whatever the board's mode)."""
    best = func.max(Submission.public_score) if challenge.greater_is_better else func.min(Submission.public_score)
    return dict(session.execute(
        select(Submission.team_id, best).where(Submission.challenge_id == challenge.id, ranked_submissions(),
                                               Submission.status == SubmissionStatus.SCORED,
                                               Submission.public_score.is_not(None))
        .group_by(Submission.team_id)).all())


def _private_standings(session: Session, challenge: Challenge, now: datetime) -> dict[int, tuple]:
    """Each ranked team's (private rank, private score, tie band)."""
    ensure_private_standings(session, challenge, now)
    board = session.execute(
        select(PrivateStanding.team_id, PrivateStanding.rank, PrivateStanding.private_score,
               Submission.private_ci_low, Submission.private_ci_high)
        .join(Submission, Submission.id == PrivateStanding.submission_id)
        .where(PrivateStanding.challenge_id == challenge.id).order_by(PrivateStanding.rank)).all()
    bands = tie_bands([(r.private_ci_low, r.private_ci_high)
                       if r.private_ci_low is not None and r.private_ci_high is not None else None for r in board])
    return {r.team_id: (r.rank, r.private_score, band) for r, band in zip(board, bands)}


def _cell(value) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    return str(value) if isinstance(value, int) else spreadsheet_text(str(value))


def grades_csv(sheet: GradeSheet) -> str:
    """The sheet as CSV: empty cells where there is nothing (no team, no score, nothing to report)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sheet.rows:
        writer.writerow([_cell(v) for v in (row.username, row.display_name, row.team, row.best_public_score,
                                            row.private_score, row.private_rank, row.tie_band, row.submissions,
                                            row.late, row.on_extension, sheet.provisional)])
    return out.getvalue()
