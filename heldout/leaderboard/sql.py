"""SQL pieces shared by the boards: the ranking order as ORDER BY clauses, and the two
INSERT ... ON CONFLICT forms (PostgreSQL and SQLite both have them).

These mirror ``ranking.order_key`` so the database and the pure functions agree
on every tie.
"""

from __future__ import annotations

import functools

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import FromClause, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from heldout.models import Submission, TeamBestScore


def rank_key(score: float, greater_is_better: bool) -> float:
    """What the board sorts by, ascending: the score, negated when higher is better (exact for floats)."""
    return -score if greater_is_better else score


def board_order() -> tuple:
    """Public board order: best score first, then the earlier submission, then the lower id.

    All ascending over ``rank_key``, so it is the order of the index ``ix_best_rank``.
    """
    return (TeamBestScore.rank_key.asc(), TeamBestScore.submitted_at.asc(), TeamBestScore.submission_id.asc())


def public_submission_order(greater_is_better: bool) -> tuple:
    """Submissions by exact public score, best first, with the same tie rule."""
    score = Submission.public_score.desc() if greater_is_better else Submission.public_score.asc()
    return (score, Submission.created_at.asc(), Submission.id.asc())


_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def _dialect_insert(session: Session):  # noqa: ANN202
    return _INSERTS[session.get_bind().dialect.name]


def upsert(session: Session, table: FromClause, values: dict) -> None:
    """INSERT, or UPDATE the row with the same primary key: one statement instead of a read and a write.

    ``values`` names every column to write; the statement is built once per database and table.
    """
    session.execute(_upsert_statement(session.get_bind().dialect.name, table, tuple(values)), values)


@functools.cache
def _upsert_statement(dialect: str, table: FromClause, columns: tuple[str, ...]):  # noqa: ANN202
    keys = {c.name for c in cast(Table, table).primary_key.columns}
    statement = _INSERTS[dialect](table)
    return statement.on_conflict_do_update(
        index_elements=sorted(keys), set_={name: statement.excluded[name] for name in columns if name not in keys})


def insert_if_absent(session: Session, table: FromClause, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call inserted the row.

    Under concurrency the loser waits for the winner's transaction and then inserts nothing,
    instead of failing the whole transaction with an IntegrityError.
    """
    # RETURNING rather than rowcount, which psycopg reports as -1 for this statement.
    key = next(iter(cast(Table, table).primary_key.columns))
    statement = _dialect_insert(session)(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None
