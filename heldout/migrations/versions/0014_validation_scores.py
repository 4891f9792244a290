"""a submission's validation score and how it was found, as the learner gave them

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # heldout.leaderboard.validation: null when the learner gave none.
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.add_column(sa.Column('validation_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('validation_note', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.drop_column('validation_note')
        batch_op.drop_column('validation_score')
