"""Emailed and texted one-time codes and links: one row per challenge, the code, the link's
secret, the address and the sign-in it belongs to stored only as HMACs; ``version`` makes every
update (an attempt, the single use) a compare-and-set.

Revision ID: 0007_one_time_codes
Revises: 0006_passkeys
Create Date: 2026-11-29 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_one_time_codes"
down_revision = "0006_passkeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("code_mac", sa.String(64), nullable=True),
        sa.Column("link_mac", sa.String(64), nullable=True),
        sa.Column("address_mac", sa.String(64), nullable=True),
        sa.Column("binding_mac", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("used_at", sa.Double(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_one_time_codes_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_one_time_codes"),
    )
    op.create_index("ix_one_time_codes_expiry", "one_time_codes", ["tenant_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_one_time_codes_expiry", table_name="one_time_codes")
    op.drop_table("one_time_codes")
