"""Second factors: a user's TOTP authenticators and recovery code sets (later passkeys), one
row each; the secret is AES-GCM ciphertext bound to its tenant, user and factor, recovery codes
are HMACs in ``data``; ``version`` makes every update a compare-and-set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_factors",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_used_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_factors_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_factors"),
        sa.UniqueConstraint("tenant_id", "user_id", "kind", "name", name="uq_user_factors_name"),
    )
    op.create_index("ix_user_factors_user", "user_factors", ["tenant_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_factors_user", table_name="user_factors")
    op.drop_table("user_factors")
