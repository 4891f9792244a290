"""each submission's private score gets its 95% bootstrap interval (secret like the score), for the tie bands
of a study group's grades

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Submissions scored before this version have none until they are rescored: their grades stand in a band
    # of their own (heldout.leaderboard.ranking.tie_bands).
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('private_ci_low', sa.Float(), nullable=True))
        batch.add_column(sa.Column('private_ci_high', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('private_ci_high')
        batch.drop_column('private_ci_low')
