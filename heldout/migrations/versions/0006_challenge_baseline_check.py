"""the baseline check of a challenge's bundle

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # heldout.runner.baseline: pending, passed, failed or error (null: never checked), and its report.
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.add_column(sa.Column('baseline_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('baseline_report', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.drop_column('baseline_report')
        batch_op.drop_column('baseline_state')
