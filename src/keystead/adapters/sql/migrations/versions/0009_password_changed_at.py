"""When each user's password was last set (``users.password_changed_at``), for the tenant
setting ``password_policy.max_age_days`` (docs/password-policy.md). Existing rows stay NULL:
their age counts from ``created_at``.

Revision ID: 0009_password_changed_at
Revises: 0008_risk
Create Date: 2026-11-29 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_password_changed_at"
down_revision = "0008_risk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_changed_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
