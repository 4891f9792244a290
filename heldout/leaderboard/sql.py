"""SQL pieces shared by the boards: the ranking order as ORDER BY clauses, and an insert-if-absent.

These mirror ``ranking.order_key`` so the database and the pure functions agree
on every tie.
"""

from __future__ import annotations

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from heldout.models import Submission, TeamBestScore


def board_order(greater_is_better: bool) -> tuple:
    """Public board order: best score first, then the earlier submission, then the lower id."""
    score = TeamBestScore.public_score.desc() if greater_is_better else TeamBestScore.public_score.asc()
    return (score, TeamBestScore.submitted_at.asc(), TeamBestScore.submission_id.asc())


def public_submission_order(greater_is_better: bool) -> tuple:
    """Submissions by exact public score, best first, with the same tie rule."""
    score = Submission.public_score.desc() if greater_is_better else Submission.public_score.asc()
    return (score, Submission.created_at.asc(), Submission.id.asc())


def insert_if_absent(session: Session, table: Table, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; True when this call inserted the row.

    Under concurrency the loser waits for the winner's transaction and then inserts nothing,
    instead of failing the whole transaction with an IntegrityError.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - Heldout supports the two databases above
        return session.execute(insert(table).values(**values)).rowcount == 1
    return session.execute(dialect_insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1
