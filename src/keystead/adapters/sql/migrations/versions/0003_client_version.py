"""clients.updated_at: a version for compare-and-set updates (admin API If-Match)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("updated_at", sa.Double(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("updated_at")
