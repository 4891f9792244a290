"""Who hosts a challenge, and what their submissions count for: nothing on any board.

The hosts of a challenge are the platform's admins, the organizer who published
it, and, for a challenge owned by a study group, the group's lead. A host may
submit (to test the scorer, as Kaggle hosts do), and the submission is scored
and shown to its author like any other, but it is never ranked.

Whether a submission is a host's is decided once, when it is made, and kept in
``Submission.host``: a later change of role (a learner made admin, a group that
changes its lead) does not rewrite the boards' history. Every board reads scored
submissions through ``ranked_submissions`` (the public board's best-score rows,
the finals and private standings, the score history), so the rank, the team
counts, the shake-up, the group boards and the APIs all inherit the rule.

Late submissions (``late``: made after the end) count for nothing either, by the
same clause: ``ranked_submissions`` is the one rule of what a board may rank.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, exists, select, union
from sqlalchemy.orm import Session, aliased

from heldout.models import Challenge, StudyGroup, Submission, User


def is_host(session: Session, challenge: Challenge, user: User | None) -> bool:
    """Whether ``user`` hosts ``challenge``: an admin, its publisher, or the lead of the group that owns it."""
    if user is None:
        return False
    return user.is_admin or user.id in hosts_among(session, challenge, [user.id])


def hosts_among(session: Session, challenge: Challenge, user_ids: Iterable[int]) -> set[int]:
    """The ids in ``user_ids`` of the users who host ``challenge``."""
    ids = set(user_ids)
    if not ids:
        return set()
    hosts = set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_admin.is_(True))))
    if challenge.created_by_id in ids:
        hosts.add(challenge.created_by_id)
    if challenge.group_id is not None:
        lead = session.scalar(select(StudyGroup.lead_id).where(StudyGroup.id == challenge.group_id))
        if lead in ids:
            hosts.add(lead)
    return hosts


def ranked_submissions() -> ColumnElement[bool]:
    """The WHERE clause every board puts on the submissions it ranks: no host and no late submission counts."""
    return and_(Submission.host.is_(False), Submission.late.is_(False))


@functools.cache
def unranked_only_teams() -> Select:
    """Ids of the teams whose submissions are all unranked (host or late): never counted among the teams.

    A host's own team, and a team that first submitted after the end. Those teams
    come first, each once, from the partial indexes ``ix_submissions_host_team`` and
    ``ix_submissions_late_team``; only those few are then checked for a ranked
    submission. Callers subtract these from a count (``Team.id IN``, a semi-join):
    a ``NOT IN`` over the other submissions would be re-run by PostgreSQL for every team.
    Built once: building it costs several times what running it does.
    """
    # "host", not "host IS true": PostgreSQL uses a partial index only for a condition it can match to its own.
    unranked = union(select(Submission.team_id).where(Submission.host),
                     select(Submission.team_id).where(Submission.late)).subquery()
    ranked = aliased(Submission)
    return select(unranked.c.team_id).where(~exists().where(ranked.team_id == unranked.c.team_id,
                                                            ~ranked.host, ~ranked.late))
