"""code submissions' logs from before the visible run: they came from the hidden run, so they go

Revision ID: 0007
Revises: 0006
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Until now a code submission's logs were what it printed on the hidden test set (or in the private
    # episodes), shown to the learner: they may hold hidden data. From now on logs come from the visible run
    # only (heldout/runner/visible.py); rescoring one of these submissions fills them again from that run.
    op.execute("UPDATE submissions SET logs = NULL WHERE kind = 'code' AND logs IS NOT NULL")


def downgrade() -> None:
    pass  # nothing to restore: the logs are gone for good, which is the point
