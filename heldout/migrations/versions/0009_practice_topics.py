"""a challenge's topic on the practice roadmap

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # heldout.challenges.bundle_schema.TOPICS; null for a challenge that is not on the roadmap.
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.drop_column('topic')
