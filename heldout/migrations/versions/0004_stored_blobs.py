"""file storage in the database

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # heldout.storage.DatabaseStorage (HELDOUT_STORAGE=database). AUTOINCREMENT on SQLite: ids are never
    # reused, so a reader still holding a replaced file's id cannot read another file's chunks.
    op.create_table('stored_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('chunk_size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sqlite_autoincrement=True,
    )
    op.create_table('stored_file_chunks',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'n')
    )


def downgrade() -> None:
    op.drop_table('stored_file_chunks')
    op.drop_table('stored_files')
