"""late submissions (never ranked) and write-ups revealed at close

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch mode: on SQLite batch mode would copy the table and drop the old one, and
    # dropping it cascades to every row that references a submission (the boards, the private standings).
    # No submission made so far is late: a closed challenge refused every submission until now.
    op.add_column('submissions', sa.Column('late', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_submissions_late_team', 'submissions', ['team_id'], unique=False,
                    postgresql_where=sa.text('late'), sqlite_where=sa.text('late'))
    op.add_column('challenges', sa.Column('late_submissions', sa.Boolean(), server_default=sa.true(),
                                          nullable=False))
    op.add_column('challenges', sa.Column('writeup_md', sa.Text(), nullable=True))
    op.add_column('teams', sa.Column('writeup_md', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('teams', 'writeup_md')  # SQLite 3.35+ drops a column in place
    op.drop_column('challenges', 'writeup_md')
    op.drop_column('challenges', 'late_submissions')
    op.drop_index('ix_submissions_late_team', table_name='submissions')
    op.drop_column('submissions', 'late')
