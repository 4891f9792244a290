"""What a viewer may see of a challenge's leaderboards: the one place that enforces the reveal rule.

The private leaderboard (and anything derived from private scores: private
ranks, the shake-up) exists for a viewer only once ``private_visible`` says so:
the challenge has ended, or its organizer revealed it. Pages and the API get
their boards from here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.leaderboard import deadlines, private
from heldout.leaderboard.hosts import is_host
from heldout.leaderboard.late import WouldHavePlaced, would_have_placed
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.public import count_teams, public_leaderboard, team_rank
from heldout.leaderboard.ranking import statistically_tied_top
from heldout.leaderboard.standing import Standing, standing
from heldout.models import (
    Challenge,
    GroupMembership,
    LeaderboardMode,
    PrivateStanding,
    StudyGroup,
    Submission,
    User,
    utcnow,
)
from heldout.platform.services.errors import Forbidden, NotFound, ServiceError
from heldout.platform.services import identity
from heldout.platform.services.groups import get_group
from heldout.platform.services.membership import team_for

PER_PAGE = 100
BOARDS = ("public", "private")


@dataclass(frozen=True)
class PublicEntry:
    rank: int
    team: str
    score: float
    entries: int
    last_entry_at: datetime | None
    # Places gained since the previous day's final standings; None for a team new today.
    rank_change: int | None
    ci_low: float | None = None
    ci_high: float | None = None
    group_rank: int | None = None
    is_mine: bool = False
    team_id: int | None = None


@dataclass(frozen=True)
class PrivateEntry:
    rank: int
    team: str
    private_score: float
    public_rank: int | None
    # Places gained from the public to the private board (positive = climbed).
    shake_up: int | None
    group_rank: int | None = None
    is_mine: bool = False


@dataclass(frozen=True)
class PublicBoard:
    mode: str
    precision: int
    show_ci: bool
    rows: list[PublicEntry]
    total: int
    page: int
    pages: int
    # How many top ranks are statistically tied with the leader (their 95% intervals overlap); 0 or 1 = none.
    tied_top: int
    # The ladder's threshold, in the ladder mode.
    step: float | None = None
    # The page that holds the viewer's team, when it has a row and this page does not show it.
    my_page: int | None = None


@dataclass(frozen=True)
class PrivateBoard:
    precision: int
    rows: list[PrivateEntry]
    total: int
    page: int
    pages: int
    my_page: int | None = None


@dataclass(frozen=True)
class GroupChoice:
    slug: str
    name: str


@dataclass(frozen=True)
class LeaderboardPage:
    """Everything the leaderboard page shows; ``private`` is None until the reveal."""

    challenge_slug: str
    board: str
    public: PublicBoard | None
    private: PrivateBoard | None
    private_visible: bool
    # When the private board will appear (the challenge's end), while it is hidden.
    private_hidden_until: datetime | None
    group: GroupChoice | None
    groups: list[GroupChoice]
    can_reveal: bool
    # Hidden past the challenge's end: members' extensions are still running (whose, and until when, is not said).
    extensions_running: bool = False


def private_visible(challenge: Challenge, now: datetime | None = None) -> bool:
    """The reveal rule (leaderboard.deadlines.private_visible): after the challenge and every member's extension
    ended, or once its organizer (a group's lead) revealed the private board."""
    return deadlines.private_visible(challenge_end=challenge.ends_at, extended_until=challenge.extended_until,
                                     revealed=challenge.private_revealed, now=now or utcnow())


def private_hidden_until(challenge: Challenge, now: datetime | None = None) -> datetime | None:
    """When the hidden private board appears, as every reader may be told: the challenge's end while it is
    ahead; None once only members' extensions hold it back (whose ends are theirs alone to see)."""
    if private_visible(challenge, now) or challenge.ends_at is None or (now or utcnow()) >= challenge.ends_at:
        return None
    return challenge.ends_at


def _extensions_running(challenge: Challenge, now: datetime) -> bool:
    return (not private_visible(challenge, now) and challenge.ends_at is not None and now >= challenge.ends_at)


def private_hidden_reason(challenge: Challenge, now: datetime | None = None) -> str:
    """Why the private board is hidden, in words every reader may see."""
    until = private_hidden_until(challenge, now)
    if until is not None:
        return f"until the challenge ends at {until:%Y-%m-%d %H:%M:%S} UTC"
    if challenge.ends_at is not None:
        return "until the last member's extension ends"
    return "until the challenge ends"


def _page_number(raw: str | int | None) -> int:
    if raw is None or raw == "":
        return 1
    try:
        page = int(raw)
    except (TypeError, ValueError):
        raise ServiceError(f"page must be a whole number, not {str(raw)[:20]!r}.", field="page") from None
    if page < 1:
        raise ServiceError("page must be 1 or more.", field="page")
    return page


def _pages(total: int, per_page: int, page: int) -> int:
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        raise ServiceError(f"page must be between 1 and {pages}.", field="page")
    return pages


def _group(session: Session, viewer: User | None, group: str | None) -> StudyGroup | None:
    return get_group(session, viewer, group) if group else None


def _my_team_id(session: Session, challenge: Challenge, viewer: User | None) -> int | None:
    team = team_for(session, challenge, viewer, create=False) if viewer is not None else None
    return team.id if team is not None else None


def late_placings(session: Session, shown: Iterable[Submission], *,
                  now: datetime | None = None) -> dict[int, WouldHavePlaced]:
    """Where each scored late submission among ``shown`` would have placed (leaderboard.late), by id.

    The private rank only once the private board is revealed (the reveal rule), read from
    the stored standings, made current first.
    """
    now = now or utcnow()
    late = [s for s in shown if s.late]
    visible: dict[int, bool] = {}
    for submission in late:
        if submission.challenge_id not in visible:
            visible[submission.challenge_id] = private_visible(submission.challenge, now)
            if visible[submission.challenge_id]:
                ensure_private_standings(session, submission.challenge, now)
    placings = {}
    for submission in late:
        placed = would_have_placed(session, submission, private_shown=visible[submission.challenge_id])
        if placed is not None:
            placings[submission.id] = placed
    return placings


def page_of(rank: int, per_page: int = PER_PAGE) -> int:
    """The page of the full board that shows ``rank``."""
    return (rank - 1) // per_page + 1


def where_you_stand(session: Session, submission: Submission) -> tuple[Standing | None, int | None]:
    """A scored submission's standing (leaderboard.standing), and the full board's page that shows its team."""
    stand = standing(session, submission)
    if stand is None:
        return None, None
    return stand, page_of(stand.team_rank) if stand.team_rank is not None else None


def _my_page(session: Session, challenge: Challenge, mine: int | None, rows: list, *, group_id: int | None,
             private_board: bool, per_page: int) -> int | None:
    """The page of this board that holds the viewer's team, when the rows shown do not ("jump to my team")."""
    if mine is None or any(r.is_mine for r in rows):
        return None
    if group_id is not None:  # a study group's view numbers its own teams: find the team among them
        board = (private.private_leaderboard if private_board else public_leaderboard)(session, challenge,
                                                                                      group_id=group_id)
        position = next((r.group_rank for r in board if r.team_id == mine), None)
    elif private_board:
        position = session.scalar(select(PrivateStanding.rank).where(PrivateStanding.challenge_id == challenge.id,
                                                                     PrivateStanding.team_id == mine))
    else:
        position = team_rank(session, challenge.id, mine)
    return None if position is None else page_of(position, per_page)


def public_board(session: Session, challenge: Challenge, viewer: User | None, *, group: str | None = None,
                 page: str | int | None = 1, per_page: int = PER_PAGE, now: datetime | None = None,
                 jump_per_page: int | None = None) -> PublicBoard:
    """One page of the public leaderboard, optionally restricted to a study group the viewer belongs to.

    ``my_page`` counts pages of ``jump_per_page`` rows (default ``per_page``): the full board's pages,
    for the top few rows on the challenge page.
    """
    now = now or utcnow()
    page = _page_number(page)
    study_group = _group(session, viewer, group)
    group_id = study_group.id if study_group else None
    mode = BoardMode.of(challenge)
    total = count_teams(session, challenge, group_id=group_id)
    pages = _pages(total, per_page, page)
    mine = _my_team_id(session, challenge, viewer)
    rows = public_leaderboard(session, challenge, limit=per_page, offset=(page - 1) * per_page,
                              group_id=group_id, now=now)
    names = identity.team_names(session, challenge, viewer, study_group)
    entries = [PublicEntry(
        rank=r.rank, team=names.of(r.team_id, r.team_name) if names else r.team_name, score=r.score,
        entries=r.entries, last_entry_at=r.last_entry_at,
        rank_change=r.rank_change, ci_low=r.ci_low if mode.shows_interval else None,
        ci_high=r.ci_high if mode.shows_interval else None, group_rank=r.group_rank, is_mine=r.team_id == mine,
        team_id=r.team_id)
        for r in rows]
    tied = 0
    if page == 1 and mode.shows_interval:
        tied = statistically_tied_top([(e.ci_low, e.ci_high) if e.ci_low is not None and e.ci_high is not None
                                       else None for e in entries])
    return PublicBoard(mode=mode.name, precision=mode.precision, show_ci=mode.shows_interval and
                       any(e.ci_low is not None for e in entries), rows=entries, total=total, page=page,
                       pages=pages, tied_top=tied, step=mode.step if mode.name is LeaderboardMode.LADDER else None,
                       my_page=_my_page(session, challenge, mine, entries, group_id=group_id, private_board=False,
                                        per_page=jump_per_page or per_page))


def private_board(session: Session, challenge: Challenge, viewer: User | None, *, group: str | None = None,
                  page: str | int | None = 1, per_page: int = PER_PAGE, now: datetime | None = None,
                  jump_per_page: int | None = None) -> PrivateBoard:
    """One page of the private leaderboard with the shake-up; refused until the reveal."""
    now = now or utcnow()
    if not private_visible(challenge, now):
        raise Forbidden(f"The private leaderboard is hidden {private_hidden_reason(challenge, now)}.",
                        code="private_hidden", field="board")
    page = _page_number(page)
    study_group = _group(session, viewer, group)
    group_id = study_group.id if study_group else None
    ensure_private_standings(session, challenge, now)
    total = private.count_standings(session, challenge, group_id=group_id)
    pages = _pages(total, per_page, page)
    mine = _my_team_id(session, challenge, viewer)
    rows = private.private_leaderboard(session, challenge, limit=per_page, offset=(page - 1) * per_page,
                                       group_id=group_id)
    names = identity.team_names(session, challenge, viewer, study_group)
    entries = [PrivateEntry(rank=r.rank, team=names.of(r.team_id, r.team_name) if names else r.team_name,
                            private_score=r.private_score, public_rank=r.public_rank, shake_up=r.shake_up,
                            group_rank=r.group_rank, is_mine=r.team_id == mine) for r in rows]
    return PrivateBoard(precision=challenge.display_precision, total=total, page=page, pages=pages, rows=entries,
                        my_page=_my_page(session, challenge, mine, entries, group_id=group_id, private_board=True,
                                         per_page=jump_per_page or per_page))


def whole_public_board(session: Session, challenge: Challenge, viewer: User | None) -> PublicBoard:
    """Every row of the public board at once (the Kaggle client's leaderboard download); hosts are on no board."""
    return public_board(session, challenge, viewer, page=1,
                        per_page=max(1, count_teams(session, challenge, group_id=None)))


def board_page(session: Session, challenge: Challenge, viewer: User | None, *, private: bool, group: str | None,
               page: int, per_page: int) -> PublicBoard | PrivateBoard:
    """A page of the public or private board for the APIs (native and Kaggle's): a page past the last is not found."""
    board_of = private_board if private else public_board
    try:
        return board_of(session, challenge, viewer, group=group, page=page, per_page=per_page)
    except ServiceError as exc:
        if exc.field == "page" and page > 1:
            # A page past the last one does not exist: "not found", as for any other missing thing.
            raise NotFound(exc.message, field="page") from None
        raise


def leaderboard_page(session: Session, challenge: Challenge, viewer: User | None, *, board: str | None = "public",
                     group: str | None = None, page: str | int | None = 1, per_page: int = PER_PAGE,
                     now: datetime | None = None) -> LeaderboardPage:
    """The leaderboard page: the public or (after the reveal) the private board, plus the viewer's group choices."""
    now = now or utcnow()
    board = board or "public"
    if board not in BOARDS:
        raise ServiceError(f"board must be 'public' or 'private', not {board[:20]!r}.", field="board")
    visible = private_visible(challenge, now)
    public = private_rows = None
    if board == "public":
        public = public_board(session, challenge, viewer, group=group, page=page, per_page=per_page, now=now)
    else:
        private_rows = private_board(session, challenge, viewer, group=group, page=page, per_page=per_page, now=now)
    study_group = _group(session, viewer, group)
    return LeaderboardPage(
        challenge_slug=challenge.slug, board=board, public=public, private=private_rows, private_visible=visible,
        private_hidden_until=private_hidden_until(challenge, now),
        group=GroupChoice(study_group.slug, study_group.name) if study_group else None,
        groups=_viewer_groups(session, viewer), can_reveal=not visible and can_reveal(session, challenge, viewer),
        extensions_running=_extensions_running(challenge, now))


def leaderboard_summary(session: Session, challenge: Challenge, viewer: User | None, *, limit: int = 20,
                        now: datetime | None = None) -> LeaderboardPage:
    """The top of both boards for the challenge page: the private one only after the reveal."""
    now = now or utcnow()
    visible = private_visible(challenge, now)
    public = public_board(session, challenge, viewer, per_page=limit, now=now, jump_per_page=PER_PAGE)
    private_rows = (private_board(session, challenge, viewer, per_page=limit, now=now, jump_per_page=PER_PAGE)
                    if visible else None)
    return LeaderboardPage(
        challenge_slug=challenge.slug, board="public", public=public, private=private_rows, private_visible=visible,
        private_hidden_until=private_hidden_until(challenge, now), group=None, groups=[],
        can_reveal=not visible and can_reveal(session, challenge, viewer), extensions_running=_extensions_running(
            challenge, now))


def can_reveal(session: Session, challenge: Challenge, viewer: User | None) -> bool:
    """The challenge's hosts: its publisher, the lead of the group that owns it, and admins."""
    return is_host(session, challenge, viewer)


def reveal_private(session: Session, challenge: Challenge, user: User, *, now: datetime | None = None) -> None:
    """Show the private leaderboard before the end (the organizer's choice); computes it at once."""
    now = now or utcnow()
    if not can_reveal(session, challenge, user):
        raise Forbidden("Only the challenge's organizer can reveal the private leaderboard.", field="board")
    challenge.private_revealed = True
    # From now on nothing counts, for members still working on an extension too (leaderboard.deadlines).
    challenge.private_revealed_at = now
    session.commit()
    ensure_private_standings(session, challenge, now)


def ensure_private_standings(session: Session, challenge: Challenge, now: datetime) -> None:
    """Recompute the stored private standings if they are stale (they are computed whether or not revealed)."""
    if private.is_current(session, challenge):
        return
    # The change counter must be committed before computing, so a score recorded meanwhile marks the result stale.
    private.track_changes(session, challenge.id)
    session.commit()
    try:
        private.recompute(session, challenge, now=now)
        session.commit()
    except IntegrityError:  # another reader stored the same standings first: theirs are as good
        session.rollback()


def _viewer_groups(session: Session, viewer: User | None) -> list[GroupChoice]:
    if viewer is None:
        return []
    rows = session.execute(select(StudyGroup.slug, StudyGroup.name)
                           .join(GroupMembership, GroupMembership.group_id == StudyGroup.id)
                           .where(GroupMembership.user_id == viewer.id).order_by(StudyGroup.name)).all()
    return [GroupChoice(slug, name) for slug, name in rows]
