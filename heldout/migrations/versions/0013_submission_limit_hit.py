"""the sandbox limit that stopped a run, stored with its outcome; rows before it get theirs from their message

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# How the runner worded each limit in a participant's message until now (runner.sandbox.base.LIMIT_MESSAGES):
# read once here, for the rows that were stored before the limit had a column of its own. Frozen with this
# migration: later changes to the wording must not change what it did.
LIMIT_PHRASES = (
    ('time', 'time limit of '),
    ('memory', 'memory limit of '),
    ('pids', 'process limit of '),
    ('file_size', 'file size limit of '),
    ('disk', 'writable space exhausted'),
    ('output', ' to stdout/stderr'),
)


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode would copy the table and drop the old one, and
    # dropping it cascades to every row that references a submission (see 0005).
    op.add_column('submissions', sa.Column('limit_hit', sa.Enum(
        'time', 'memory', 'pids', 'file_size', 'disk', 'output', name='sandboxlimit', native_enum=False, length=20),
        nullable=True))
    submissions = sa.table('submissions', sa.column('status', sa.String), sa.column('error', sa.Text),
                           sa.column('limit_hit', sa.String))
    # In the order above, the first phrase found wins, as runner.failures matched them; only failed runs
    # (the participant's) were stopped by a limit.
    for code, phrase in LIMIT_PHRASES:
        op.execute(submissions.update()
                   .where(submissions.c.status == 'failed', submissions.c.limit_hit.is_(None),
                          sa.func.lower(submissions.c.error).like(f'%{phrase}%'))
                   .values(limit_hit=code))


def downgrade() -> None:
    op.drop_column('submissions', 'limit_hit')  # SQLite 3.35+ drops a column in place
