"""per-member extensions of a study group's challenge, and when a private board was revealed by hand

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # heldout.leaderboard.deadlines: a member's own end, the latest of them, and the moment of a reveal by hand.
    op.create_table('challenge_extensions',
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('challenge_id', 'user_id')
    )
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.add_column(sa.Column('extended_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('private_revealed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('challenges') as batch_op:
        batch_op.drop_column('private_revealed_at')
        batch_op.drop_column('extended_until')
    op.drop_table('challenge_extensions')
