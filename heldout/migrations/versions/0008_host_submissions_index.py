"""a partial index on host submissions, so counting a challenge's teams reads only those

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_submissions_host_team', 'submissions', ['team_id'], unique=False,
                    postgresql_where=sa.text('host'), sqlite_where=sa.text('host'))


def downgrade() -> None:
    op.drop_index('ix_submissions_host_team', table_name='submissions')
