"""submissions made by a challenge's hosts, never ranked

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode would copy the table and drop the old one, and
    # dropping it cascades to every row that references a submission (the boards, the private standings).
    op.add_column('submissions', sa.Column('host', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Submissions already made by today's hosts (admins, the challenge's publisher, the owning group's lead)
    # become host submissions; from now on the flag is set when a submission is made.
    op.execute("""
        UPDATE submissions SET host = TRUE WHERE
          user_id IN (SELECT id FROM users WHERE is_admin)
          OR user_id = (SELECT created_by_id FROM challenges WHERE challenges.id = submissions.challenge_id)
          OR user_id = (SELECT study_groups.lead_id FROM challenges JOIN study_groups
                        ON study_groups.id = challenges.group_id WHERE challenges.id = submissions.challenge_id)
    """)
    # A board row earned by a host submission goes; the team is ranked again from its next scored submission.
    op.execute("DELETE FROM team_best_scores WHERE submission_id IN (SELECT id FROM submissions WHERE host)")
    op.execute("UPDATE private_board_states SET generation = generation + 1")


def downgrade() -> None:
    op.drop_column('submissions', 'host')  # SQLite 3.35+ drops a column in place
