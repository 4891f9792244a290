"""study groups' boards may name members by a pseudonym or a number: the group's choice, each member's
pseudonym and number (numbers given in order of joining)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('study_groups') as batch:
        batch.add_column(sa.Column('board_identity', sa.String(length=20), server_default='names', nullable=False))
    with op.batch_alter_table('group_memberships') as batch:
        batch.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('pseudonym', sa.String(length=40), nullable=True))
    # Today's members are numbered in the order they joined (ties by account), one sequence per group.
    op.execute("""
        UPDATE group_memberships SET number = (
            SELECT COUNT(*) FROM group_memberships AS earlier
            WHERE earlier.group_id = group_memberships.group_id
              AND (earlier.joined_at < group_memberships.joined_at
                   OR (earlier.joined_at = group_memberships.joined_at
                       AND earlier.user_id <= group_memberships.user_id)))
    """)
    with op.batch_alter_table('group_memberships') as batch:
        batch.create_unique_constraint('uq_group_memberships_group_id_number', ['group_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('group_memberships') as batch:
        batch.drop_constraint('uq_group_memberships_group_id_number', type_='unique')
        batch.drop_column('pseudonym')
        batch.drop_column('number')
    with op.batch_alter_table('study_groups') as batch:
        batch.drop_column('board_identity')
